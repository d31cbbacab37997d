"""`cbp scheduler`: periodic tasks, and scheduled scrapes claimed once however many schedulers run."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.db import Database
from chatbot_platform.runtime import Services
from chatbot_platform.scheduler.registry import PeriodicTask, load_periodic_tasks
from chatbot_platform.scheduler.service import run_forever, tick
from chatbot_platform.settings import Settings
from tests.factories import make_tenant
from tests.fixtures.cli import cbp
from tests.scraper.conftest import create_config


async def run_counts(app: FastAPI) -> dict[str, int]:
    async with app.state.database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT config_id, count(*) AS n FROM scraper_runs GROUP BY config_id")
        )
        return {str(row.config_id): row.n for row in rows}


async def test_two_schedulers_never_start_the_same_configuration_twice(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, env: dict[str, str]
) -> None:
    tenants = [await make_tenant(client), await make_tenant(client)]
    scheduled = [
        await create_config(client, tenant, seeds=["https://example.com/"], schedule={"interval_minutes": 30})
        for tenant in tenants
        for _ in range(3)
    ]
    manual = await create_config(client, tenants[0], seeds=["https://example.com/"])
    other_node = await Database.open(settings)
    services = await Services.start(settings, other_node)
    try:
        reports = await asyncio.gather(*(tick(s) for s in [app.state.services, services] * 2))
    finally:
        await services.close()
        await other_node.close()

    assert sum(r.started["scraper.scheduled-runs"] for r in reports) == 6
    assert await run_counts(app) == {c["id"]: 1 for c in scheduled}
    assert manual["id"] not in await run_counts(app)
    config = (
        await client.get(f"/api/v1/scraper/configs/{scheduled[0]['id']}", headers=tenants[0].headers)
    ).json()
    assert config["next_run_at"] > (utcnow() + timedelta(minutes=29)).isoformat()
    assert (await tick(app.state.services)).started["scraper.scheduled-runs"] == 0  # nothing is due now

    # `cbp scheduler --once` is what a cron job or a test runs; the loop runs the same tick.
    await create_config(client, tenants[1], seeds=["https://example.com/"], schedule={"interval_minutes": 5})
    result = cbp("scheduler", "--once", env=env)
    summary = json.loads(result.stdout[result.stdout.index("{\n") :])  # after any log lines
    assert summary["started"]["scraper.scheduled-runs"] == 1


async def test_a_failing_periodic_task_does_not_stop_the_others(app: FastAPI) -> None:
    ran: list[str] = []

    async def broken(services: Services, now: object) -> int:
        raise RuntimeError("boom")

    async def healthy(services: Services, now: object) -> int:
        ran.append("healthy")
        return 2

    tasks = [PeriodicTask("broken", broken), PeriodicTask("healthy", healthy), *load_periodic_tasks()]
    report = await tick(app.state.services, tasks=tasks)
    assert report.failed == {"broken": "RuntimeError"}
    assert (report.started["healthy"], report.started["scraper.scheduled-runs"]) == (2, 0)
    assert ran == ["healthy"]

    stop = asyncio.Event()
    loop = asyncio.create_task(run_forever(app.state.services, interval=0.05, stop=stop, tasks=tasks[:2]))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(loop, 2)
    assert len(ran) >= 3  # the loop kept ticking past the broken task
