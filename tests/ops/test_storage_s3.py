"""FILESYSTEM_DISK=s3: stored files live in an S3-compatible bucket (custom endpoint, path-style)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot_platform.kit.storage import S3FileStore, build_file_store
from tests.fixtures.database import make_settings
from tests.ops.apps import app_with
from tests.ops.conftest import S3
from tests.retrieval.corpora import index_corpus, search


async def test_the_s3_store_keeps_reads_lists_and_deletes(tmp_path: Path, s3: S3) -> None:
    bucket = s3.new_bucket()
    store = build_file_store(make_settings(tmp_path, FILESYSTEM_DISK="s3", **s3.settings(bucket)))
    assert isinstance(store, S3FileStore)
    await store.put_many([("t1/doc-a/v1/original", b"alpha"), ("t1/doc-b/v1/original", b"beta")])
    await store.put("t2/doc-c/v1/original", b"gamma")
    assert await store.get("t1/doc-a/v1/original") == b"alpha"
    assert await store.exists("t1/doc-b/v1/original")
    assert not await store.exists("t1/nope")
    assert await store.list_dirs("t1") == ["doc-a", "doc-b"]
    assert await store.list_keys("t1/") == ["t1/doc-a/v1/original", "t1/doc-b/v1/original"]
    await store.delete_prefix("t1/doc-a")
    assert s3.keys(bucket) == ["t1/doc-b/v1/original", "t2/doc-c/v1/original"]
    with pytest.raises(FileNotFoundError):
        await store.get("t1/doc-a/v1/original")
    with pytest.raises(ValueError, match="unsafe"):
        await store.put("../escape", b"x")


async def test_uploads_go_to_the_bucket_and_are_searchable(tmp_path: Path, database_url: str, s3: S3) -> None:
    bucket = s3.new_bucket()
    settings = {"FILESYSTEM_DISK": "s3", **s3.settings(bucket)}
    async with app_with(tmp_path, database_url, **settings) as (_, client):
        from tests.factories import make_tenant

        tenant = await make_tenant(client)
        await index_corpus(
            client, tenant, {"orari": ("Orari", "L'anagrafe apre il martedì dalle 9 alle 12.")}
        )
        body = await search(client, tenant, "quando apre l'anagrafe")
        assert "martedì" in body["results"][0]["text"]
        health = (await client.get("/health")).json()["checks"]["storage"]
        assert health["ok"] is True
        assert health["disk"] == "s3"
    stored = s3.keys(bucket)
    assert stored
    assert all(key.startswith(tenant.id) for key in stored), stored
    assert not (tmp_path / "storage" / "files").exists()
