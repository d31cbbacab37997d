"""Assistant profiles: how a tenant's assistant answers (prompt, persona, sources, thresholds, model)."""
