"""The pipeline on its queues: OpenAI-compatible embeddings, failures after 3 tries, retry, Milvus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.ops import failed_jobs
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI
from tests.fixtures.redis import require_redis
from tests.ingestion.test_documents_api import upload, wait_for


async def running_app(
    settings_overrides: dict[str, str], tmp_path: Path, database_url: str
) -> AsyncIterator[FastAPI]:
    app = create_app(make_settings(tmp_path / "storage", database_url, **settings_overrides))
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def openai_app(fake_openai: FakeOpenAI, tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    overrides = {
        "OPENAI_API_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test-not-secret",
        "OPENAI_EMBEDDING_MODEL": "text-embedding-3-small",
        "OPENAI_EMBEDDING_DIM": "1536",
    }
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


async def test_documents_are_embedded_by_an_openai_compatible_server_over_http(
    openai_app: FastAPI, fake_openai: FakeOpenAI
) -> None:
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        created = await upload(client, tenant, "a.txt", b"Paragrafo uno.\n\nParagrafo due.")
        document = await wait_for(client, tenant, created.json()["id"])
    assert document["status"] == "indexed"
    calls = fake_openai.requests_to("/v1/embeddings")
    assert calls, "the embedder called the server over HTTP"
    assert calls[0].body["model"] == "text-embedding-3-small"
    assert calls[0].headers["authorization"] == "Bearer sk-test-not-secret"


async def test_a_job_that_keeps_failing_leaves_a_failed_job_and_a_reason_then_retry_succeeds(
    openai_app: FastAPI, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_next(1000, status=500)
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        created = await upload(client, tenant, "a.txt", b"Testo che non si riesce a vettorializzare.")
        document = await wait_for(client, tenant, created.json()["id"], patience=90)
        assert document["status"] == "failed"
        assert "after 3 attempts" in document["error"]
        assert "sk-test-not-secret" not in document["error"]
        async with openai_app.state.database.transaction() as session:
            records = await failed_jobs.list_failed(session)
        assert [(r.queue, r.task, r.attempts) for r in records] == [
            ("embeddings", "ingestion.embed_documents", 3)
        ]
        fake_openai.reset()
        async with openai_app.state.database.transaction() as session:
            await failed_jobs.retry(session, openai_app.state.services.queues, records[0])
        deadline = asyncio.get_running_loop().time() + 60
        while (
            document := (
                await client.get(f"/api/v1/documents/{document['id']}", headers=tenant.headers)
            ).json()
        )["status"] != "indexed":
            assert asyncio.get_running_loop().time() < deadline, document
            await asyncio.sleep(0.2)


@pytest.fixture
async def milvus_app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    overrides = {"RAG_VECTOR_DRIVER": "milvus", "MILVUS_HOST": str(tmp_path / "milvus.db")}
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


async def test_ingestion_with_the_milvus_store_keeps_database_and_vectors_in_step(
    milvus_app: FastAPI,
) -> None:
    store = milvus_app.state.services.vector_store
    assert store.name == "milvus"
    async with client_for(milvus_app) as client:
        tenant = await make_tenant(client)
        created = await upload(client, tenant, "m.md", b"# Uno\n\nPrimo.\n\n# Due\n\nSecondo.")
        document = await wait_for(client, tenant, created.json()["id"])
        assert document["status"] == "indexed"
        chunks = (
            await client.get(f"/api/v1/documents/{document['id']}/chunks", headers=tenant.headers)
        ).json()
        tenant_id = uuid.UUID(tenant.id)
        assert await store.chunk_ids(tenant_id) == {uuid.UUID(c["id"]) for c in chunks["items"]}
        await client.post(f"/api/v1/documents/{document['id']}/reingest", headers=tenant.headers)
        await wait_for(client, tenant, document["id"])
        chunks = (
            await client.get(f"/api/v1/documents/{document['id']}/chunks", headers=tenant.headers)
        ).json()
        assert await store.chunk_ids(tenant_id) == {uuid.UUID(c["id"]) for c in chunks["items"]}, (
            "no stale vectors"
        )
        await client.delete(f"/api/v1/documents/{document['id']}", headers=tenant.headers)
        deadline = asyncio.get_running_loop().time() + 30
        while await store.chunk_ids(tenant_id):
            assert asyncio.get_running_loop().time() < deadline, "vectors were not purged"
            await asyncio.sleep(0.2)


async def test_a_document_whose_job_was_lost_is_recovered(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Simulates a crash between commit and enqueue: the document is pending and no job exists."""
    from datetime import timedelta

    from chatbot_platform.ingestion import service
    from chatbot_platform.ingestion.pipeline import recover_stalled
    from chatbot_platform.kit.clock import utcnow
    from chatbot_platform.kit.jobs import take_pending
    from chatbot_platform.models import DocumentSource

    tenant = await make_tenant(client)
    services = app.state.services
    async with services.database.sessions() as session:
        accepted = await service.accept(
            session,
            services.files,
            uuid.UUID(tenant.id),
            knowledge_base_id=uuid.UUID(tenant.default_kb_id),
            title="lost.txt",
            content=service.Content(DocumentSource.UPLOAD, "lost.txt", b"Documento dimenticato."),
        )
        accepted.document.updated_at = utcnow() - timedelta(minutes=10)
        take_pending(session)  # the job is lost
        await session.commit()
    assert await recover_stalled(services) == 1
    assert (await wait_for(client, tenant, str(accepted.document.id)))["status"] == "indexed"
    assert await recover_stalled(services) == 0


@pytest.fixture
async def redis_queue_app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    await require_redis()
    overrides = {"QUEUE_CONNECTION": "redis", "REDIS_HOST": "127.0.0.1", "REDIS_QUEUE_DATABASE": "5"}
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


async def test_the_redis_queue_runs_the_same_pipeline(redis_queue_app: FastAPI) -> None:
    assert redis_queue_app.state.services.queues.queue("ingestion").__class__.__name__ == "RedisQueue"
    async with client_for(redis_queue_app) as client:
        tenant = await make_tenant(client)
        created = await upload(client, tenant, "r.txt", b"Documento elaborato tramite la coda Redis.")
        assert (await wait_for(client, tenant, created.json()["id"]))["status"] == "indexed"
