"""Usage and cost per tenant, and the dashboard (questions, answer rate, handoffs, feedback)."""
