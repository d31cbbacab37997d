"""SCRAPER_MAX_CONCURRENT as a bound on requests in flight: per process, or across every worker
sharing a Redis (leases in a sorted set, so a crashed holder's slot comes back by itself)."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

POLL_SECONDS = 0.01

_LOCAL: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)

# KEYS[1] the set; ARGV: lease seconds, limit, token. Server time, so node clocks do not matter.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])))
  return 1
end
return 0
"""


class Slots(Protocol):
    def hold(self) -> AbstractAsyncContextManager[None]: ...


class LocalSlots:
    """One semaphore per limit shared by every crawl of this process (and event loop)."""

    def __init__(self, limit: int) -> None:
        per_loop = _LOCAL.setdefault(asyncio.get_running_loop(), {})
        self.semaphore = per_loop.setdefault(limit, asyncio.Semaphore(limit))

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        async with self.semaphore:
            yield


class RedisSlots:
    """Slots shared by every process using this Redis and key."""

    def __init__(self, redis: Redis, *, key: str, limit: int, lease_seconds: float) -> None:
        self.key, self.limit, self.lease = key, limit, lease_seconds
        self.redis = redis
        self.script = redis.register_script(_ACQUIRE_LUA)

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        while not await self.script(keys=[self.key], args=[self.lease, self.limit, token]):  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)  # a slot frees up in another process: nothing to wait on here
        try:
            yield
        finally:
            await asyncio.shield(self.redis.zrem(self.key, token))
