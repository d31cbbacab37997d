"""Retrieval: vector and full-text search over a tenant's knowledge bases."""
