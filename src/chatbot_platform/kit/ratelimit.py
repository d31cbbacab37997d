"""Sliding-window budgets of requests and tokens, in process or shared through Redis."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RateBudget(Protocol):
    """An allowance of requests and tokens per sliding window, shared by everyone holding it."""

    async def reserve(self, *, requests: int = 1, tokens: int = 0) -> float:
        """Take the cost and return 0.0, or take nothing and return the seconds to wait before retrying."""
        ...


class BudgetSpent(Exception):
    """The budget would not grant the cost within the caller's patience."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the rate budget is spent for the next {retry_after:.1f} s")
        self.retry_after = retry_after


async def acquire(
    budget: RateBudget, *, requests: int = 1, tokens: int = 0, patience: float | None = None
) -> float:
    """Wait until `budget` grants the cost; return the seconds spent waiting. With `patience`, raise
    BudgetSpent instead of waiting longer than that in all (someone is waiting for an answer)."""
    waited = 0.0
    while (delay := await budget.reserve(requests=requests, tokens=tokens)) > 0:
        if patience is not None and waited + delay > patience:
            raise BudgetSpent(delay)
        # A little jitter keeps processes that were refused together from retrying together.
        pause = delay + random.uniform(0, min(0.05, delay / 10))  # noqa: S311 - not for security
        await asyncio.sleep(pause)
        waited += pause
    return waited


@dataclass(frozen=True)
class Limits:
    """Most requests and tokens granted within `window` seconds."""

    max_requests: int
    max_tokens: int
    window: float = 60.0

    def clamp(self, requests: int, tokens: int) -> tuple[int, int]:
        """Costs above the limit count as the whole limit: they wait for an empty window, not forever."""
        return min(max(requests, 0), self.max_requests), min(max(tokens, 0), self.max_tokens)


@dataclass(frozen=True)
class _Grant:
    at: float
    requests: int
    tokens: int


class LocalRateBudget:
    """A budget for one process: a lock and a queue of recent grants."""

    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._grants: deque[_Grant] = deque()
        self._granted_requests = 0  # totals of the grants in the queue, kept as they come and go
        self._granted_tokens = 0
        # A thread lock, not an asyncio one: the critical section never awaits, and callers may live
        # on different event loops or threads (jobs, the CLI, tests).
        self._lock = threading.Lock()

    async def reserve(self, *, requests: int = 1, tokens: int = 0) -> float:
        """Take the cost now, or say how long until it fits."""
        requests, tokens = self.limits.clamp(requests, tokens)
        with self._lock:
            now = self._clock()
            self._forget_before(now - self.limits.window)
            wait = self._wait_for(now, requests, tokens)
            if wait == 0.0:
                self._grants.append(_Grant(now, requests, tokens))
                self._granted_requests += requests
                self._granted_tokens += tokens
            return wait

    def _forget_before(self, horizon: float) -> None:
        while self._grants and self._grants[0].at <= horizon:
            expired = self._grants.popleft()
            self._granted_requests -= expired.requests
            self._granted_tokens -= expired.tokens

    def _wait_for(self, now: float, requests: int, tokens: int) -> float:
        excess_requests = self._granted_requests + requests - self.limits.max_requests
        excess_tokens = self._granted_tokens + tokens - self.limits.max_tokens
        if excess_requests <= 0 and excess_tokens <= 0:
            return 0.0
        for grant in self._grants:  # oldest first: the cost fits once enough of them have expired
            excess_requests -= grant.requests
            excess_tokens -= grant.tokens
            if excess_requests <= 0 and excess_tokens <= 0:
                return max(grant.at + self.limits.window - now, 1e-3)
        return self.limits.window


# Grants live in one sorted set scored by Redis' own clock (so processes need not agree on the time);
# each member is "<unique id>:<requests>:<tokens>". Returns 0 when granted, else milliseconds to wait.
# Milliseconds, not microseconds: Lua writes numbers into commands with only 14 significant digits.
_RESERVE_LUA = """
local key = KEYS[1]
local window = tonumber(ARGV[1])
local max_requests, max_tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
local requests, tokens = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local grants = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local excess_r, excess_t = requests - max_requests, tokens - max_tokens
for i = 1, #grants, 2 do
  local r, tk = string.match(grants[i], ':(%d+):(%d+)$')
  excess_r, excess_t = excess_r + tonumber(r), excess_t + tonumber(tk)
end
if excess_r <= 0 and excess_t <= 0 then
  redis.call('ZADD', key, now, ARGV[6] .. ':' .. ARGV[4] .. ':' .. ARGV[5])
  redis.call('PEXPIRE', key, window + 1000)
  return 0
end
for i = 1, #grants, 2 do
  local r, tk = string.match(grants[i], ':(%d+):(%d+)$')
  excess_r, excess_t = excess_r - tonumber(r), excess_t - tonumber(tk)
  if excess_r <= 0 and excess_t <= 0 then
    return math.max(tonumber(grants[i + 1]) + window - now, 1)
  end
end
return window
"""


class RedisRateBudget:
    """A budget shared by every process using the same Redis key prefix (one Lua call per reservation).
    While Redis cannot be reached, this process keeps its own budget, so an outage degrades the
    limit to per-process instead of failing every call it guards."""

    def __init__(self, redis: Redis, limits: Limits, *, key_prefix: str) -> None:
        self.limits = limits
        self.key = f"{key_prefix}:grants"
        self._script = redis.register_script(_RESERVE_LUA)
        self._fallback = LocalRateBudget(limits)

    async def reserve(self, *, requests: int = 1, tokens: int = 0) -> float:
        """Take the cost now, or say how long until it fits."""
        requests, tokens = self.limits.clamp(requests, tokens)
        args = (
            math.ceil(self.limits.window * 1000),
            self.limits.max_requests,
            self.limits.max_tokens,
            requests,
            tokens,
            uuid.uuid4().hex,
        )
        try:
            wait_ms = await self._script(keys=[self.key], args=args)
        except RedisError:
            return await self._fallback.reserve(requests=requests, tokens=tokens)
        return int(wait_ms) / 1000


_LOCAL_BUDGETS: dict[tuple[str, Limits], LocalRateBudget] = {}
_LOCAL_BUDGETS_LOCK = threading.Lock()


def shared_budget(
    name: str, limits: Limits, *, redis: Redis | None = None, key_prefix: str = "cbp"
) -> RateBudget:
    """The budget called `name`: on Redis when given (shared by processes), else one per process."""
    if redis is not None:
        return RedisRateBudget(redis, limits, key_prefix=f"{key_prefix}:ratelimit:{name}")
    with _LOCAL_BUDGETS_LOCK:
        return _LOCAL_BUDGETS.setdefault((name, limits), LocalRateBudget(limits))
