"""`cbp cache clear`: the shared (Redis) cache under CACHE_PREFIX, in REDIS_CACHE_DATABASE."""

from __future__ import annotations

from chatbot_platform.admin.sessions import SESSION_KEY
from chatbot_platform.ops.maintenance import STATE_KEY
from chatbot_platform.settings import Settings

BATCH = 500


async def clear_cache(settings: Settings) -> int:
    """Delete every key under the prefix except the maintenance state (clearing must not bring the
    platform back up) and admin sessions (should REDIS_DATABASE be the cache's database too: a
    deploy's clear must not sign everybody out); returns how many were deleted."""
    from chatbot_platform.runtime import redis_client

    redis = redis_client(settings)
    if redis is None:
        return 0
    prefix = settings.cache.prefix
    keep = f"{prefix}:{STATE_KEY}".encode()
    sessions = f"{prefix}:{SESSION_KEY}".encode()
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=f"{prefix}:*", count=BATCH):
            if key != keep and not key.startswith(sessions):
                batch.append(key)
            if len(batch) >= BATCH:
                deleted += await redis.delete(*batch)
                batch = []
        if batch:
            deleted += await redis.delete(*batch)
    finally:
        await redis.aclose()
    return deleted
