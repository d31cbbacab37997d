"""API key scopes: what a tenant key may do."""

from __future__ import annotations

import enum


class Scope(enum.StrEnum):
    KNOWLEDGE_BASES_READ = "knowledge_bases:read"
    KNOWLEDGE_BASES_WRITE = "knowledge_bases:write"
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    RETRIEVAL = "retrieval:search"
    CHAT = "chat"
    ASSISTANTS_READ = "assistants:read"
    ASSISTANTS_WRITE = "assistants:write"
    SCRAPER_READ = "scraper:read"
    SCRAPER_WRITE = "scraper:write"
    CONVERSATIONS_READ = "conversations:read"
    ANALYTICS_READ = "analytics:read"


ALL_SCOPES: tuple[Scope, ...] = tuple(Scope)
