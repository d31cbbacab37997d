"""Named PostgreSQL advisory locks held until the caller's transaction ends."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:key)")
_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (PostgreSQL's advisory lock space is one bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def advisory_lock(session: AsyncSession, name: str, *, shared: bool = False) -> None:
    """Wait for the lock called `name`; shared holders exclude only an exclusive one.

    PostgreSQL queues a new shared request behind a waiting exclusive one, so a steady stream of
    shared holders cannot starve the exclusive holder.
    """
    await session.execute(_SHARED if shared else _EXCLUSIVE, {"key": lock_key(name)})
