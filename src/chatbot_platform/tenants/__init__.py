"""Tenants, their users and API keys: the provisioning side of the platform."""
