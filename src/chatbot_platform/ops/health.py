"""Health checks: each returns a small dict and never raises; an error is reported by type only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from chatbot_platform.kit.db import Database

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

CHECK_TIMEOUT_SECONDS = 3.0
PROBE_PREFIX = "health-check"


async def _timed(probe: Callable[[], Awaitable[dict[str, Any] | None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        details = await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure makes the dependency unhealthy; no message reaches the client
        return {"ok": False, "error": type(exc).__name__}
    result: dict[str, Any] = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    result.update(details or {})
    if result.get("problem"):
        result["ok"] = False
    return result


async def check_database(database: Database) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        await database.ping()
        return {"embedded": database.embedded is not None}

    return await _timed(probe)


async def check_redis(services: Services) -> dict[str, Any]:
    redis = services.redis

    async def probe() -> None:
        assert redis is not None  # noqa: S101 - only called when configured
        await redis.ping()

    return await _timed(probe)


async def check_storage(services: Services) -> dict[str, Any]:
    """Write, read back and delete a probe object."""
    files = services.files

    async def probe() -> dict[str, Any]:
        key = f"{PROBE_PREFIX}/{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes
        await files.put(key, payload)
        try:
            if await files.get(key) != payload:
                return {"problem": "read back different bytes"}
        finally:
            await files.delete_prefix(key)
        return {"disk": services.settings.storage.disk}

    return await _timed(probe)


async def check_queue(services: Services) -> dict[str, Any]:
    """Connected, workers alive (on any node) and how long the oldest job has waited."""
    from chatbot_platform.ops.queues import snapshot

    async def probe() -> dict[str, Any]:
        if not services.queues.connected:
            return {"problem": "not connected"}
        states = await snapshot(services.queues)
        waiting = sum(s.waiting for s in states)
        workers = {s.name: s.workers for s in states}
        ages = [s.oldest_waiting_seconds for s in states if s.oldest_waiting_seconds is not None]
        stranded = [s.name for s in states if s.waiting and not s.workers]
        details: dict[str, Any] = {
            "connection": services.settings.queue.connection,
            "workers": workers,
            "waiting": waiting,
            "oldest_waiting_seconds": max(ages) if ages else None,
        }
        if stranded:
            details["problem"] = f"jobs waiting with no worker: {', '.join(stranded)}"
        return details

    return await _timed(probe)


async def check_vector_store(services: Services) -> dict[str, Any]:
    store = services.vector_store

    async def probe() -> dict[str, Any]:
        await store.chunk_ids(uuid.UUID(int=0))  # a real query, on a tenant that cannot exist
        return {"driver": store.name}

    return await _timed(probe)


async def run_checks(database: Database, services: Services | None = None) -> dict[str, dict[str, Any]]:
    checks: dict[str, Awaitable[dict[str, Any]]] = {"database": check_database(database)}
    if services is not None:
        if services.redis is not None:
            checks["redis"] = check_redis(services)
        checks["storage"] = check_storage(services)
        checks["queue"] = check_queue(services)
        checks["vector_store"] = check_vector_store(services)
    results = await asyncio.gather(*checks.values())
    return dict(zip(checks, results, strict=True))
