"""`cbp queue status|monitor|retry|flush` on real failed and waiting jobs, and `cbp cache clear`."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from redis.asyncio import Redis

from chatbot_platform.kit.db import Database
from chatbot_platform.kit.jobs import JobContext, task
from chatbot_platform.ops import failed_jobs
from chatbot_platform.runtime import Services
from tests.fixtures.database import make_settings
from tests.ops.apps import app_with, cbp_here

FAILING = "ops.test_always_fails"
PARKED = "ops.test_parked"


@task(FAILING, queue="default", retries=1)
async def always_fails(ctx: JobContext, *, tenant_id: str | None = None) -> None:
    raise RuntimeError("upstream refused the job")


@task(PARKED, queue="scraping")
async def parked(ctx: JobContext, *, n: int) -> int:
    return n


def _row(table: str, name: str) -> list[str]:
    """The cells of a rich table's row that starts with `name`."""
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if cells and cells[0] == name:
            return cells
    raise AssertionError(f"no row {name!r} in:\n{table}")


async def _failed_ids(database: Database) -> list[uuid.UUID]:
    async with database.transaction() as session:
        return [f.id for f in await failed_jobs.list_failed(session)]


async def _until_failed(database: Database, count: int) -> list[uuid.UUID]:
    for _ in range(200):
        ids = await _failed_ids(database)
        if len(ids) >= count:
            return ids
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} failed jobs")


async def test_failed_jobs_are_listed_retried_and_flushed(
    tmp_path: Path, database_url: str, env: dict[str, str]
) -> None:
    async with app_with(tmp_path, database_url) as (app, _):
        services: Services = app.state.services
        await services.queues.enqueue(FAILING, key="fails-1")
        await services.queues.enqueue(FAILING, key="fails-2")
        first, _ = await _until_failed(services.database, 2)

        code, output = await cbp_here("queue", "status", env=env)
        assert code == 0
        cells = _row(output, "default")
        assert cells == ["default", "0", "0", "2"], output

        code, output = await cbp_here("queue", "retry", str(first), env=env)
        assert (code, output.strip()) == (0, "retried 1 job(s)")
        await _until_failed(services.database, 2)  # it failed again: a new record, the old one retried
        code, output = await cbp_here("queue", "retry", "--all", env=env)
        assert code == 0
        assert "retried 2 job(s)" in output
        await _until_failed(services.database, 2)

        assert (await cbp_here("queue", "retry", env=env))[0] == 2  # neither an id nor --all
        assert (await cbp_here("queue", "retry", "not-a-uuid", env=env))[0] == 2
        code, output = await cbp_here("queue", "flush", env=env)
        assert code == 0
        assert "flushed" in output
        assert await _failed_ids(services.database) == []


async def test_monitor_flags_a_queue_over_its_maximum(
    tmp_path: Path, database_url: str, env: dict[str, str]
) -> None:
    settings = make_settings(tmp_path / "storage", database_url)
    database = await Database.open(settings)
    services = await Services.start(settings, database)  # no workers: the jobs wait
    try:
        for n in range(3):
            await services.queues.enqueue(PARKED, key=f"parked-{n}", n=n)
        code, output = await cbp_here(
            "queue", "monitor", "--max", "2", "--queue", "scraping,default", env=env
        )
        assert code == 1, output
        cells = _row(output, "scraping")
        assert cells[1] == "3", output
        assert cells[-1] == "BUSY", output
        assert "ingestion" not in output
        code, output = await cbp_here("queue", "monitor", "--max", "5", env=env)
        assert code == 0
        assert "BUSY" not in output
        assert (await cbp_here("queue", "monitor", "--queue", "nope", env=env))[0] == 2
    finally:
        await services.close()
        await database.close()


async def test_cache_clear_empties_the_cache_database_but_keeps_maintenance_and_sessions(
    env: dict[str, str],
) -> None:
    prefix = f"cbp-cache-{uuid.uuid4().hex[:8]}"
    cache, default = Redis(db=3), Redis(db=0)
    cleared = [f"{prefix}:rag:result:1", f"{prefix}:throttle:api:key"]
    # Admin sessions live on REDIS_DATABASE; an operator may point it at the cache's database too.
    kept = [f"{prefix}:maintenance", f"{prefix}:admin-session:abc", f"{prefix}-other:keep"]
    try:
        for key in cleared + kept:
            await cache.set(key, "x")
        await default.set(f"{prefix}:rag:result:2", "another database")
        code, output = await cbp_here(
            "cache",
            "clear",
            env={**env, "REDIS_HOST": "127.0.0.1", "CACHE_PREFIX": prefix, "REDIS_CACHE_DATABASE": "3"},
        )
        assert code == 0
        assert "cleared 2 cached entries" in output
        assert await cache.exists(*cleared) == 0
        assert await cache.exists(*kept) == len(kept)
        assert await default.exists(f"{prefix}:rag:result:2") == 1
        code, output = await cbp_here("cache", "clear", env=env)  # no Redis: nothing shared to clear
        assert code == 0
        assert "no shared cache" in output
    finally:
        await cache.delete(*kept)
        await default.delete(f"{prefix}:rag:result:2")
        await cache.aclose()
        await default.aclose()


async def test_about_and_routes_show_the_operations_side(env: dict[str, str]) -> None:
    code, output = await cbp_here("about", env={**env, "BACKUP_S3_BUCKET": "backups-bucket"})
    assert code == 0
    assert "s3://backups-bucket/backups/" in output
    assert "Maintenance state" in output
    code, output = await cbp_here("routes", env=env)
    assert code == 0
    assert "/metrics" in output
    assert "/health" in output
