"""`cbp backup` / `cbp backup list` / `cbp restore`: a backup restored into a fresh database has the
same rows, the same stored files and gives the same retrieval answer; S3 (a local moto server) and
retention; the backup BACKUP_SCHEDULE starts from `cbp scheduler`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.ops import backup_schedule
from chatbot_platform.scheduler.registry import load_periodic_tasks
from chatbot_platform.scheduler.service import tick
from tests.factories import make_tenant
from tests.fixtures.database import DatabaseCluster
from tests.ops.apps import app_with, cbp_here
from tests.ops.conftest import S3
from tests.retrieval.corpora import ITALIAN, index_corpus, search

QUESTION = "quanto costa la carta d'identità elettronica"


async def _row_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in sorted(tables)}  # noqa: S608
    finally:
        await conn.close()


def _answer(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["document_id"], r["text"]) for r in body["results"]]


@pytest.fixture
async def restored_url(databases: DatabaseCluster) -> Any:
    name = await databases.empty()
    yield databases.url(name)
    await databases.drop(name)


async def test_backup_restores_into_a_fresh_database_with_the_same_answers(
    tmp_path: Path, database_url: str, env: dict[str, str], restored_url: str
) -> None:
    async with app_with(tmp_path, database_url) as (_, client):
        tenant = await make_tenant(client, default_language="it")
        await index_corpus(client, tenant, dict(list(ITALIAN.items())[:4]))
        before = _answer(await search(client, tenant, QUESTION))

        code, output = await cbp_here("backup", env=env)
        assert code == 0, output
        assert "verified" not in output
        assert "tables" in output
    original = await _row_counts(database_url.replace("postgresql://", "postgres://"))
    files = tmp_path / "storage" / "files"
    stored = sorted(p.relative_to(files) for p in files.rglob("*") if p.is_file())
    assert stored

    code, listing = await cbp_here("backup", "list", env=env)
    [name] = [word for word in listing.split() if word.startswith("cbp-backup-")]
    archive = tmp_path / "storage" / "backups" / name
    assert archive.is_file()

    fresh = {**env, "DATABASE_URL": restored_url, "STORAGE_PATH": str(tmp_path / "restored")}
    code, output = await cbp_here("restore", str(archive), env=fresh)
    assert code == 0, output
    assert "verified" in output
    assert await _row_counts(restored_url) == original
    restored_files = tmp_path / "restored" / "files"
    assert sorted(p.relative_to(restored_files) for p in restored_files.rglob("*") if p.is_file()) == stored

    async with app_with(tmp_path / "after", restored_url, STORAGE_PATH=str(tmp_path / "restored")) as (
        _,
        client,
    ):
        assert _answer(await search(client, tenant, QUESTION)) == before
        documents = await client.get("/api/v1/documents", headers=tenant.headers)
        assert documents.status_code == 200
        assert documents.json()["total"] == 4

    code, output = await cbp_here("restore", str(archive), env=fresh)
    assert code == 1
    assert "not empty" in output


async def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, env: dict[str, str]) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    code, output = await cbp_here("restore", str(junk), env=env)
    assert code == 1
    assert "not a readable backup archive" in output
    code, output = await cbp_here("restore", "cbp-backup-20200101-000000.tar.gz", env=env)
    assert code == 1
    assert "no backup" in output


async def test_backups_on_s3_are_listed_pruned_and_restored(
    tmp_path: Path, env: dict[str, str], s3: S3, restored_url: str
) -> None:
    bucket = s3.new_bucket()
    on_s3 = {**env, **s3.settings(s3.new_bucket()), "BACKUP_S3_BUCKET": bucket, "BACKUP_RETENTION_DAYS": "7"}
    old = "backups/cbp-backup-20200101-000000.tar.gz"
    s3.client().put_object(Bucket=bucket, Key=old, Body=b"an expired backup")

    code, output = await cbp_here("backup", env=on_s3)
    assert code == 0, output
    assert f"s3://{bucket}/backups/" in output
    assert "deleted cbp-backup-20200101-000000.tar.gz" in output
    [key] = s3.keys(bucket, "backups/")
    name = key.removeprefix("backups/")
    assert name in (await cbp_here("backup", "list", env=on_s3))[1]

    code, output = await cbp_here("restore", name, env={**on_s3, "DATABASE_URL": restored_url})
    assert code == 0, output
    assert "verified" in output


async def test_the_scheduler_backs_up_once_per_due_time(tmp_path: Path, database_url: str) -> None:
    assert "ops.backup" in {task.name for task in load_periodic_tasks()}
    async with app_with(tmp_path, database_url, BACKUP_SCHEDULE="0 2 * * *") as (app, _):
        services = app.state.services
        task = [t for t in load_periodic_tasks() if t.name == "ops.backup"]
        two_am = utcnow().replace(hour=2, minute=0, second=30, microsecond=0)
        assert (await tick(services, two_am, task)).started == {"ops.backup": 1}
        assert (await tick(services, two_am + timedelta(minutes=1), task)).started == {"ops.backup": 0}
        next_day = two_am + timedelta(days=1, minutes=5)
        assert (await tick(services, next_day, task)).started == {"ops.backup": 1}
    assert len(list((tmp_path / "storage" / "backups").glob("cbp-backup-*.tar.gz"))) >= 1
    assert backup_schedule.last_due("0 2 * * *", next_day, "UTC") == next_day.replace(minute=0, second=0)
