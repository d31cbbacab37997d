"""The public side of each tenant's widget, cached per process for WIDGET_CACHE_TTL seconds.

Every widget page view asks for it, so it is kept in memory; a change made through this process
clears it at once, other processes see it within the TTL (the setting's promise).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PublicWidget:
    """What the public endpoints need to know of a tenant's widget, without a database round trip."""

    tenant_id: uuid.UUID
    slug: str
    name: str
    default_language: str
    enabled: bool
    allowed_origins: tuple[str, ...]
    assistant: str
    conversation_lifetime_hours: int
    theme: dict[str, Any] = field(default_factory=dict)
    # prefix -> SHA-256 of the live publishable keys: the configuration, asked for on every page
    # view, is answered without touching the database.
    key_hashes: dict[str, str] = field(default_factory=dict)


class WidgetCache:
    """Entries are keyed by database and slug: one process may serve several databases (tests, tools)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, PublicWidget]] = {}
        self._lock = threading.Lock()

    def get(self, database: str, slug: str) -> PublicWidget | None:
        with self._lock:
            entry = self._entries.get((database, slug))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, database: str, widget: PublicWidget, ttl: int) -> None:
        if ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[(database, widget.slug)] = (time.monotonic() + ttl, widget)

    def forget(self, tenant_id: uuid.UUID) -> None:
        with self._lock:
            for key in [k for k, (_, w) in self._entries.items() if w.tenant_id == tenant_id]:
                del self._entries[key]


CACHE = WidgetCache()
