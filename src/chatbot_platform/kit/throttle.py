"""Fixed-window request throttles (the seed's `THROTTLE_*`): in process, or shared through Redis.

Unlike `kit.ratelimit` budgets, which make a caller wait its turn, a throttle answers at once
whether a hit is allowed and how the window stands, so an endpoint can refuse with 429 and tell
the client when to come back (`Retry-After`, `x-ratelimit-*`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Expired windows are dropped once this many keys are held, so unbounded key spaces (end users)
# cannot grow the in-process table forever.
_PRUNE_ABOVE = 10_000


@dataclass(frozen=True)
class Window:
    """The state of one key's window after a hit: whether the hit counted, and what is left."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the window starts afresh

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before a refused hit can succeed (at least 1)."""
        return max(1, math.ceil(self.reset_after))


class Throttle(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> Window:
        """Count one hit on `key` if fewer than `limit` were counted in its current window."""
        ...


class LocalThrottle:
    """Windows of one process: a dict of (window start, hits) under a thread lock."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int, float]] = {}  # key -> (start, hits, length)
        self._lock = threading.Lock()

    async def hit(self, key: str, *, limit: int, window: float) -> Window:
        with self._lock:
            now = self._clock()
            if len(self._windows) > _PRUNE_ABOVE:
                self._prune(now)
            start, hits, _ = self._windows.get(key, (now, 0, window))
            if now - start >= window:
                start, hits = now, 0
            reset_after = max(start + window - now, 0.0)
            if hits >= limit:
                return Window(False, limit, 0, reset_after)
            self._windows[key] = (start, hits + 1, window)
            return Window(True, limit, limit - hits - 1, reset_after)

    def _prune(self, now: float) -> None:
        expired = [k for k, (start, _, length) in self._windows.items() if now - start >= length]
        for key in expired:
            del self._windows[key]


# One round trip: refused hits are not counted, the window starts with its first hit.
# Returns {hits after this call, milliseconds left in the window, 1 if counted else 0}.
_HIT_LUA = """
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if hits >= tonumber(ARGV[1]) and ttl > 0 then
  return {hits, ttl, 0}
end
if ttl <= 0 then
  hits = 0
  redis.call('SET', KEYS[1], 0, 'PX', ARGV[2])
  ttl = tonumber(ARGV[2])
end
hits = redis.call('INCR', KEYS[1])
return {hits, ttl, 1}
"""


class RedisThrottle:
    """Windows shared by every process using the same Redis and key prefix. While Redis cannot be
    reached, this process counts on its own (limits then hold per process), so a Redis outage
    degrades the throttle instead of failing every request it guards."""

    def __init__(self, redis: Redis, *, key_prefix: str) -> None:
        self._prefix = f"{key_prefix}:throttle"
        self._script = redis.register_script(_HIT_LUA)
        self._fallback = LocalThrottle()

    async def hit(self, key: str, *, limit: int, window: float) -> Window:
        try:
            hits, ttl_ms, counted = await self._script(
                keys=[f"{self._prefix}:{key}"], args=[limit, math.ceil(window * 1000)]
            )
        except RedisError:
            return await self._fallback.hit(key, limit=limit, window=window)
        return Window(bool(counted), limit, max(limit - int(hits), 0), int(ttl_ms) / 1000)


def build_throttle(redis: Redis | None, *, key_prefix: str = "cbp") -> Throttle:
    """Shared through Redis when there is one, else this process's own."""
    if redis is not None:
        return RedisThrottle(redis, key_prefix=key_prefix)
    return LocalThrottle()
