"""A platform process set up as `cbp serve` sets itself up (JSON logs, Sentry, alerts), run by
test_observability.py in its own interpreter so that its logging and Sentry stay out of pytest's.

    python -m tests.ops.observed_process STORAGE DATABASE_URL HOOKS_URL

It serves a few requests in-process, runs a slow query, logs an error, runs a job that fails for
good, then flushes alerts and Sentry and exits; the test reads its stdout and what HOOKS_URL got.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from chatbot_platform.kit.jobs import JobContext, task
from tests.factories import ADMIN, make_tenant
from tests.fixtures.database import make_settings

FAILING_TASK = "ops.always_fails"


@task(FAILING_TASK, queue="default", retries=1)
async def always_fails(ctx: JobContext, *, tenant_id: str) -> None:
    raise ValueError("the remote catalogue answered 500")


async def main(storage: str, database_url: str, hooks: str) -> None:
    import sentry_sdk

    from chatbot_platform.app import create_app
    from chatbot_platform.ops.observability import setup_observability

    settings = make_settings(
        Path(storage),
        database_url,
        LOG_LEVEL="info",
        LOG_SLOW_QUERIES="true",
        LOG_SLOW_QUERY_THRESHOLD="50",
        SENTRY_LARAVEL_DSN=f"http://public-key@{hooks.removeprefix('http://')}/42",
        SENTRY_TRACES_SAMPLE_RATE="1.0",
        SLACK_WEBHOOK_URL=f"{hooks}/slack",
        TEAMS_WEBHOOK_URL=f"{hooks}/teams",
    )
    sender = setup_observability(settings)
    assert sender is not None
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tenant = await make_tenant(client)
            await client.get("/api/v1/me", headers={**tenant.headers, "X-Request-Id": "req-observed-0001"})
            await client.get("/api/v1/tenants", headers=ADMIN)
        async with app.state.database.engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(0.2)"))
        log = logging.getLogger("chatbot_platform.billing")
        for _ in range(3):  # the same error three times: one alert
            try:
                raise RuntimeError("payment gateway unreachable")
            except RuntimeError:
                log.exception("could not charge the tenant")
        logging.getLogger("chatbot_platform.debugging").debug("never written at LOG_LEVEL=info")
        services: Any = app.state.services
        await services.queues.enqueue(FAILING_TASK, key="always-fails-1", tenant_id=tenant.id)
        for _ in range(200):
            if await _failed(services):
                break
            await asyncio.sleep(0.05)
    sender.flush()
    sentry_sdk.flush(timeout=10)


async def _failed(services: Any) -> bool:
    from chatbot_platform.ops import failed_jobs

    async with services.database.transaction() as session:
        return bool(await failed_jobs.list_failed(session))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
