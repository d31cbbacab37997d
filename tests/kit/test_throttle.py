"""Fixed-window throttles: in process, and shared through Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from chatbot_platform.kit.throttle import LocalThrottle, RedisThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_window_allows_its_limit_then_refuses_until_it_resets() -> None:
    clock = Clock()
    throttle = LocalThrottle(clock=clock)
    hits = [await throttle.hit("k", limit=2, window=60) for _ in range(3)]
    assert [(h.allowed, h.remaining) for h in hits] == [(True, 1), (True, 0), (False, 0)]
    clock.now += 30
    refused = await throttle.hit("k", limit=2, window=60)
    assert not refused.allowed
    assert refused.retry_after == 30
    assert (await throttle.hit("other", limit=2, window=60)).allowed
    clock.now += 31
    assert (await throttle.hit("k", limit=2, window=60)).remaining == 1


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(f"Redis is required at 127.0.0.1:6379 and is not reachable: {exc}")
    yield client
    await client.aclose()


async def test_a_redis_window_is_shared_and_refusals_are_not_counted(redis: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}"
    other = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        mine, theirs = RedisThrottle(redis, key_prefix=prefix), RedisThrottle(other, key_prefix=prefix)
        assert (await mine.hit("k", limit=2, window=60)).remaining == 1
        assert (await theirs.hit("k", limit=2, window=60)).remaining == 0
        refused = await mine.hit("k", limit=2, window=60)
        assert not refused.allowed
        assert 59 <= refused.reset_after <= 60
        assert int(await redis.get(f"{prefix}:throttle:k") or 0) == 2
        short = await mine.hit("short", limit=1, window=0.2)
        assert short.allowed
        assert not (await mine.hit("short", limit=1, window=0.2)).allowed
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await other.aclose()
