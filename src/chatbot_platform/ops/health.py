"""Health checks: each returns a small dict and never raises."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from chatbot_platform.kit.db import Database

CHECK_TIMEOUT_SECONDS = 3.0


async def check_database(database: Database) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(database.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure is an unhealthy database, reported by type only
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "embedded": database.embedded is not None,
    }


async def run_checks(database: Database) -> dict[str, dict[str, Any]]:
    return {"database": await check_database(database)}
