"""Alembic is the only source of DDL, and it matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from chatbot_platform.kit import migrations
from chatbot_platform.kit.db import Database
from chatbot_platform.models import Base
from tests.fixtures.database import DatabaseCluster, make_settings


def _name(obj: object) -> str:
    return str(getattr(obj, "name", "") or getattr(getattr(obj, "table", None), "name", ""))


async def test_models_and_migrations_agree(database_url: str, tmp_path: Path) -> None:
    database = await Database.open(make_settings(tmp_path, database_url))
    try:
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await database.close()
    # The partial HNSW indexes over `embedding::vector(d)` are expression indexes that only the
    # migration can express; everything else must match exactly.
    diff = [
        d for d in diff if not (d[0] == "remove_index" and d[1].name.startswith("ix_chunks_embedding_hnsw_"))
    ]
    # SAQ, the job queue library, creates and migrates its own saq_* tables.
    diff = [
        d for d in diff if not (d[0] in {"remove_table", "remove_index"} and _name(d[1]).startswith("saq_"))
    ]
    assert diff == []


async def test_upgrade_from_empty_downgrade_to_base_and_back(
    databases: DatabaseCluster, tmp_path: Path
) -> None:
    name = await databases.empty()
    database = await Database.open(make_settings(tmp_path, databases.url(name)))
    try:
        assert await migrations.current_revision(database) is None
        await migrations.upgrade(database)
        assert await migrations.current_revision(database) == migrations.head_revision()
        await migrations.downgrade(database, "base")
        assert await migrations.current_revision(database) is None
        await migrations.upgrade(database)
        assert await migrations.current_revision(database) == migrations.head_revision()
    finally:
        await database.close()
        await databases.drop(name)
