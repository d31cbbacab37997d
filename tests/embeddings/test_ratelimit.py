"""Rate budgets: the in-process one and the Redis one shared by processes."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from chatbot_platform.kit.ratelimit import Limits, LocalRateBudget, RateBudget, RedisRateBudget, acquire


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_local_budget_grants_requests_up_to_the_limit_then_says_how_long_to_wait() -> None:
    clock = ManualClock()
    budget = LocalRateBudget(Limits(max_requests=2, max_tokens=1000, window=60), clock=clock)
    assert await budget.reserve() == 0.0
    clock.now += 10
    assert await budget.reserve() == 0.0
    assert await budget.reserve() == pytest.approx(50.0)
    clock.now += 50
    assert await budget.reserve() == 0.0


async def test_local_budget_counts_tokens() -> None:
    clock = ManualClock()
    budget = LocalRateBudget(Limits(max_requests=100, max_tokens=1000, window=60), clock=clock)
    assert await budget.reserve(tokens=600) == 0.0
    clock.now += 5
    assert await budget.reserve(tokens=300) == 0.0
    clock.now += 5
    # 600 + 300 + 200 > 1000: it fits once the first grant (at t=0) has left the window.
    assert await budget.reserve(tokens=200) == pytest.approx(50.0)
    assert await budget.reserve(tokens=100) == 0.0


async def test_local_budget_refusals_take_nothing() -> None:
    clock = ManualClock()
    budget = LocalRateBudget(Limits(max_requests=10, max_tokens=100, window=60), clock=clock)
    assert await budget.reserve(tokens=90) == 0.0
    assert await budget.reserve(tokens=50) > 0
    assert await budget.reserve(tokens=10) == 0.0


async def test_a_cost_above_the_limit_waits_for_an_empty_window_instead_of_forever() -> None:
    clock = ManualClock()
    budget = LocalRateBudget(Limits(max_requests=10, max_tokens=100, window=60), clock=clock)
    assert await budget.reserve(tokens=5000) == 0.0
    assert await budget.reserve(tokens=5000) == pytest.approx(60.0)


async def test_acquire_sleeps_until_the_budget_allows() -> None:
    budget = LocalRateBudget(Limits(max_requests=1, max_tokens=100, window=0.3))
    assert await acquire(budget) == 0.0
    started = time.monotonic()
    waited = await acquire(budget)
    assert waited >= 0.25
    assert time.monotonic() - started >= 0.25


async def test_redis_budget_grants_up_to_the_limit_then_says_how_long_to_wait(
    redis: Redis, redis_prefix: str
) -> None:
    budget = RedisRateBudget(
        redis, Limits(max_requests=2, max_tokens=1000, window=60), key_prefix=redis_prefix
    )
    assert await budget.reserve(tokens=10) == 0.0
    assert await budget.reserve(tokens=10) == 0.0
    wait = await budget.reserve(tokens=10)
    assert 59 < wait <= 60
    assert await redis.zcard(budget.key) == 2


async def test_redis_budget_counts_tokens_and_refusals_take_nothing(redis: Redis, redis_prefix: str) -> None:
    budget = RedisRateBudget(
        redis, Limits(max_requests=100, max_tokens=100, window=60), key_prefix=redis_prefix
    )
    assert await budget.reserve(tokens=90) == 0.0
    assert await budget.reserve(tokens=50) > 0
    assert await budget.reserve(tokens=10) == 0.0
    assert await budget.reserve(tokens=1) > 0


async def test_redis_budget_is_shared_by_clients_with_the_same_prefix(
    redis: Redis, redis_prefix: str
) -> None:
    limits = Limits(max_requests=3, max_tokens=1000, window=60)
    other_process = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        mine = RedisRateBudget(redis, limits, key_prefix=redis_prefix)
        theirs = RedisRateBudget(other_process, limits, key_prefix=redis_prefix)
        elsewhere = RedisRateBudget(other_process, limits, key_prefix=f"{redis_prefix}:other")
        results = await asyncio.gather(*(b.reserve() for b in (mine, theirs, mine, theirs)))
        assert sorted(r == 0.0 for r in results) == [False, True, True, True]
        assert await elsewhere.reserve() == 0.0
    finally:
        await other_process.aclose()


async def test_redis_budget_frees_capacity_when_grants_leave_the_window(
    redis: Redis, redis_prefix: str
) -> None:
    budget: RateBudget = RedisRateBudget(
        redis, Limits(max_requests=1, max_tokens=100, window=0.3), key_prefix=redis_prefix
    )
    assert await budget.reserve() == 0.0
    started = time.monotonic()
    assert 0 < await budget.reserve() <= 0.3
    await acquire(budget)
    assert time.monotonic() - started >= 0.2


async def test_redis_budget_key_expires_on_its_own(redis: Redis, redis_prefix: str) -> None:
    budget = RedisRateBudget(
        redis, Limits(max_requests=5, max_tokens=100, window=60), key_prefix=redis_prefix
    )
    await budget.reserve()
    assert 0 < await redis.pttl(budget.key) <= 61_000


async def test_concurrent_callers_never_exceed_the_local_budget() -> None:
    budget = LocalRateBudget(Limits(max_requests=4, max_tokens=1000, window=0.3))
    started = time.monotonic()
    granted_at = await asyncio.gather(*(_acquire_at(budget, started) for _ in range(10)))
    assert _most_in_any_window(granted_at, 0.3) <= 4
    assert max(granted_at) >= 0.55  # ten requests at four per window need three windows


async def test_concurrent_processes_never_exceed_the_redis_budget(redis: Redis, redis_prefix: str) -> None:
    limits = Limits(max_requests=4, max_tokens=1000, window=0.3)
    other_process = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        budgets = [
            RedisRateBudget(client, limits, key_prefix=redis_prefix) for client in (redis, other_process)
        ]
        started = time.monotonic()
        granted_at = await asyncio.gather(*(_acquire_at(budgets[i % 2], started) for i in range(10)))
    finally:
        await other_process.aclose()
    # Measured here rather than on Redis' clock, so allow a few milliseconds of slack on the window.
    assert _most_in_any_window(granted_at, 0.28) <= 4
    assert max(granted_at) >= 0.55


async def _acquire_at(budget: RateBudget, started: float) -> float:
    await acquire(budget)
    return time.monotonic() - started


def _most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + window) for start in ordered)
