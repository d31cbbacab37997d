"""Usage and cost per tenant (later: questions, answer rate, feedback)."""
