"""Changing a tenant's embedding model: re-embedding in the background, an atomic switch, failures.

OpenAI is the fake server, so the deployment's default model is `text-embedding-3-small` and the
offline multilingual-e5-small is the other model a tenant may choose.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.embeddings.base import EmbeddingError
from chatbot_platform.ingestion import model_switch
from chatbot_platform.ingestion.pipeline import embedding_input
from chatbot_platform.runtime import Services
from chatbot_platform.tenants import service as tenants
from tests.factories import ADMIN, TenantWithKey, make_tenant
from tests.fixtures.fake_openai import FakeOpenAI, fake_embedding
from tests.ingestion.test_documents_api import ITALIAN, upload, wait_for
from tests.ingestion.test_pipeline_jobs import client_for, running_app

OPENAI, E5 = "text-embedding-3-small", "multilingual-e5-small"
IN_PROGRESS = ("pending", "embedding")
WASTE = (
    "# Raccolta rifiuti\n\n## Calendario\n\n"
    "La plastica si raccoglie il martedì, la carta il giovedì e l'umido tre volte a settimana.\n\n"
    "## Centro di raccolta\n\nIl centro di raccolta in via Roma accetta ingombranti e RAEE.\n"
)
SECTIONS = "".join(
    f"# Sezione {n}\n\nTesto della sezione numero {n}, diverso dagli altri.\n\n" for n in range(6)
)


def openai_settings(fake: FakeOpenAI, dim: int, **more: str) -> dict[str, str]:
    return {
        "OPENAI_API_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "sk-test-not-secret",
        "OPENAI_EMBEDDING_MODEL": OPENAI,
        "OPENAI_EMBEDDING_DIM": str(dim),
        **more,
    }


def milvus_settings(store: str, tmp_path: Path) -> dict[str, str]:
    return (
        {"RAG_VECTOR_DRIVER": "milvus", "MILVUS_HOST": str(tmp_path / "milvus.db")}
        if store == "milvus"
        else {}
    )


@pytest.fixture(params=["pgvector", "milvus"])
async def app_1536(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, tmp_path: Path, database_url: str
) -> AsyncIterator[FastAPI]:
    """OpenAI vectors of 1536 dimensions, the local model's of 384: each model has its own index."""
    overrides = openai_settings(fake_openai, 1536, **milvus_settings(request.param, tmp_path))
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


@pytest.fixture(params=["pgvector", "milvus"])
async def app_384(
    request: pytest.FixtureRequest, fake_openai: FakeOpenAI, tmp_path: Path, database_url: str
) -> AsyncIterator[FastAPI]:
    """Both models of 384 dimensions: in Milvus they share one collection."""
    overrides = openai_settings(fake_openai, 384, **milvus_settings(request.param, tmp_path))
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


@pytest.fixture
async def openai_app(fake_openai: FakeOpenAI, tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    async for app in running_app(openai_settings(fake_openai, 384), tmp_path, database_url):
        yield app


async def switch_model(client: httpx.AsyncClient, tenant: TenantWithKey, model: str) -> dict[str, Any]:
    response = await client.patch(
        f"/api/v1/tenants/{tenant.id}", json={"embedding_model": model}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_for_switch(
    client: httpx.AsyncClient, tenant: TenantWithKey, patience: float = 120
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        body: dict[str, Any] = (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).json()
        if body["embedding_switch"]["status"] not in IN_PROGRESS:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"switch stuck: {body['embedding_switch']}"
        await asyncio.sleep(0.2)


async def ingest(
    client: httpx.AsyncClient, tenant: TenantWithKey, name: str, text: str
) -> list[dict[str, Any]]:
    """Upload and wait until indexed; the document's chunks, each with the text its vector embeds."""
    created = await upload(client, tenant, name, text.encode(), title=name)
    document = await wait_for(client, tenant, created.json()["id"])
    assert document["status"] == "indexed", document["error"]
    chunks = (await client.get(f"/api/v1/documents/{document['id']}/chunks", headers=tenant.headers)).json()
    return [
        {
            **chunk,
            "document_id": document["id"],
            "input": embedding_input(name, chunk["heading_path"], chunk["text"]),
        }
        for chunk in chunks["items"]
    ]


def ids(chunks: list[dict[str, Any]]) -> set[uuid.UUID]:
    return {uuid.UUID(chunk["id"]) for chunk in chunks}


async def found(
    services: Services, tenant: TenantWithKey, model: str, vector: list[float]
) -> list[uuid.UUID]:
    """What a search of the tenant's knowledge base with `model` returns, best first."""
    hits = await services.vector_store.search(
        uuid.UUID(tenant.id), [uuid.UUID(tenant.default_kb_id)], vector, model=model, top_k=100
    )
    return [hit.chunk_id for hit in hits]


async def wait_for_vectors(
    services: Services, tenant_id: uuid.UUID, model: str, expected: set[uuid.UUID]
) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while await services.vector_store.chunk_ids(tenant_id, model=model) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"the {model} vectors never became {expected}"
        await asyncio.sleep(0.2)


async def record_switch(services: Services, tenant_id: uuid.UUID, model: str) -> uuid.UUID:
    """Record a switch without queueing its job, so that the test can run the job's steps itself."""
    async with services.database.transaction() as session:
        switch_id = await tenants.request_embedding_model(
            session,
            tenant_id,
            model,
            default_model=services.embedder.model,
            offered=services.embedding_models(),
        )
    assert switch_id is not None
    return switch_id


async def test_switching_to_the_local_model_and_back_re_embeds_every_chunk(
    app_1536: FastAPI, fake_openai: FakeOpenAI
) -> None:
    services: Services = app_1536.state.services
    async with client_for(app_1536) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)
        chunks = await ingest(client, tenant, "anagrafe.md", ITALIAN) + await ingest(
            client, tenant, "rifiuti.md", WASTE
        )
        probe = chunks[0]
        openai_probe = fake_embedding(probe["input"], 1536)  # the vector the fake gave this chunk
        e5_query = await services.embedder_for(E5).embed_query("Quanto costa la carta d'identità?")
        assert (await found(services, tenant, OPENAI, openai_probe))[0] == uuid.UUID(probe["id"])

        requested = await switch_model(client, tenant, E5)
        assert requested["embedding_model"] == OPENAI, "the old model stays active until the switch"
        assert requested["embedding_switch"]["model"] == E5
        switched = await wait_for_switch(client, tenant)
        assert (switched["embedding_model"], switched["embedding_switch"]["status"]) == (E5, "completed")
        assert switched["embedding_switch"]["progress"] == 100
        by_e5 = await found(services, tenant, E5, e5_query)
        assert set(by_e5) == ids(chunks)
        assert by_e5[0] in {uuid.UUID(c["id"]) for c in chunks if "22 euro" in c["text"]}
        await wait_for_vectors(services, tenant_id, OPENAI, set())  # deleted just after the switch
        assert await found(services, tenant, OPENAI, openai_probe) == []

        calls = len(fake_openai.requests_to("/v1/embeddings"))
        await switch_model(client, tenant, OPENAI)
        back = await wait_for_switch(client, tenant)
        assert (back["embedding_model"], back["embedding_switch"]["status"]) == (OPENAI, "completed")
        assert len(fake_openai.requests_to("/v1/embeddings")) == calls, "the cache had every OpenAI vector"
        by_openai = await found(services, tenant, OPENAI, openai_probe)
        assert (by_openai[0], set(by_openai)) == (uuid.UUID(probe["id"]), ids(chunks))
        await wait_for_vectors(services, tenant_id, E5, set())
        assert await found(services, tenant, E5, e5_query) == []


async def test_the_switch_is_atomic_and_chunks_ingested_meanwhile_get_the_new_model(app_384: FastAPI) -> None:
    services: Services = app_384.state.services
    async with client_for(app_384) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)
        before = await ingest(client, tenant, "anagrafe.md", ITALIAN)
        switch_id = await record_switch(services, tenant_id, E5)
        target = services.embedder_for(E5)

        embedded = await model_switch.reembed(
            services, tenant_id, switch_id, target, model_switch.Cursor(), 1, math.inf
        )
        meanwhile = await ingest(client, tenant, "rifiuti.md", WASTE)
        everything = ids(before) | ids(meanwhile)

        assert embedded == "embedded"
        state = (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).json()
        assert (state["embedding_model"], state["embedding_switch"]["status"]) == (OPENAI, "embedding")
        assert await services.vector_store.chunk_ids(tenant_id, model=OPENAI) == everything, "all vectors old"
        assert (
            set(await found(services, tenant, OPENAI, fake_embedding(before[0]["input"], 384))) == everything
        )

        assert await model_switch.switch(services, tenant_id, switch_id, E5)
        state = (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).json()
        assert state["embedding_model"] == E5
        assert ids(before) <= await services.vector_store.chunk_ids(tenant_id, model=E5)
        assert await model_switch.reconcile(services, tenant_id) == 1, "the document ingested meanwhile"
        await wait_for_vectors(services, tenant_id, E5, everything)
        assert await services.vector_store.chunk_ids(tenant_id) == everything, "no old vector is left"
        assert (await wait_for(client, tenant, meanwhile[0]["document_id"]))["status"] == "indexed"


async def test_a_crashed_switch_resumes_without_embedding_anything_twice(
    openai_app: FastAPI, fake_openai: FakeOpenAI
) -> None:
    services: Services = openai_app.state.services
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)
        await switch_model(client, tenant, E5)
        assert (await wait_for_switch(client, tenant))["embedding_model"] == E5
        chunks = await ingest(client, tenant, "sezioni.md", SECTIONS)
        assert len(chunks) >= 4
        switch_id = await record_switch(services, tenant_id, OPENAI)
        fake_openai.reset()
        fake_openai.fail_next(3, status=500, after=1)  # the second page fails all its tries

        with pytest.raises(EmbeddingError):
            await model_switch.run_switch(services, tenant_id, switch_id, batch=2)
        state = (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).json()
        assert (state["embedding_model"], state["embedding_switch"]["status"]) == (E5, "embedding")
        assert state["embedding_switch"]["progress"] > 0
        first_page = fake_openai.requests_to("/v1/embeddings")[0].body["input"]

        assert await model_switch.run_switch(services, tenant_id, switch_id, batch=2) == "switched"
        inputs = [text for r in fake_openai.requests_to("/v1/embeddings") for text in r.body["input"]]
        assert [inputs.count(text) for text in first_page] == [1] * len(first_page)
        assert await services.vector_store.chunk_ids(tenant_id, model=OPENAI) == ids(chunks)


async def test_a_switch_that_fails_for_good_keeps_the_old_model(
    openai_app: FastAPI, fake_openai: FakeOpenAI
) -> None:
    services: Services = openai_app.state.services
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)
        await switch_model(client, tenant, E5)
        await wait_for_switch(client, tenant)
        chunks = await ingest(client, tenant, "anagrafe.md", ITALIAN)
        fake_openai.fail_next(10_000, status=500)

        await switch_model(client, tenant, OPENAI)
        state = await wait_for_switch(client, tenant, patience=180)

        assert (state["embedding_model"], state["embedding_switch"]["status"]) == (E5, "failed")
        assert "after 3 attempts" in state["embedding_switch"]["error"]
        assert "sk-test-not-secret" not in state["embedding_switch"]["error"]
        query = await services.embedder_for(E5).embed_query("carta d'identità")
        assert set(await found(services, tenant, E5, query)) == ids(chunks)
        await wait_for_vectors(services, tenant_id, OPENAI, set())


async def test_an_unknown_model_is_refused_and_the_active_one_is_a_no_op(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    refused = await client.patch(
        f"/api/v1/tenants/{tenant.id}", json={"embedding_model": OPENAI, "name": "Renamed"}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert E5 in refused.json()["error"]["message"]
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["embedding_model"]

    same = await switch_model(client, tenant, E5)

    assert (same["embedding_model"], same["embedding_switch"]) == (E5, None)
    assert same["name"] != "Renamed", "the refused request changed nothing"


@pytest.fixture
async def app_without_workers(
    fake_openai: FakeOpenAI, tmp_path: Path, database_url: str
) -> AsyncIterator[FastAPI]:
    overrides = openai_settings(fake_openai, 384, QUEUE_WORKERS_IN_PROCESS="false")
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


async def test_a_new_request_replaces_the_target_and_the_active_model_cancels(
    app_without_workers: FastAPI,
) -> None:
    services: Services = app_without_workers.state.services
    async with client_for(app_without_workers) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)

        async def switch_id() -> uuid.UUID | None:
            async with services.database.transaction() as session:
                return (await tenants.get_tenant_fresh(session, tenant_id)).embedding_switch_id

        assert (await switch_model(client, tenant, E5))["embedding_switch"]["status"] == "pending"
        first = await switch_id()
        assert (await switch_model(client, tenant, E5))["embedding_switch"]["status"] == "pending"
        assert await switch_id() == first, "asking again for the same target changes nothing"
        cancelled = await switch_model(client, tenant, OPENAI)
        assert (cancelled["embedding_model"], cancelled["embedding_switch"]["status"]) == (
            OPENAI,
            "cancelled",
        )
        await switch_model(client, tenant, E5)
        second = await switch_id()
        assert first is not None
        assert second not in (None, first)

        assert await model_switch.run_switch(services, tenant_id, first) == "superseded"
        assert await model_switch.run_switch(services, tenant_id, second) == "switched"
        state = (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).json()
        assert (state["embedding_model"], state["embedding_switch"]["status"]) == (E5, "completed")


async def test_a_long_switch_continues_in_a_new_job_from_where_it_stopped(openai_app: FastAPI) -> None:
    services: Services = openai_app.state.services
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        tenant_id = uuid.UUID(tenant.id)
        chunks = await ingest(client, tenant, "sezioni.md", SECTIONS)
        switch_id = await record_switch(services, tenant_id, E5)

        outcome = await model_switch.run_switch(services, tenant_id, switch_id, batch=2, slice_seconds=0)
        state = await wait_for_switch(client, tenant)

    assert outcome == "continued"
    assert (state["embedding_model"], state["embedding_switch"]["status"]) == (E5, "completed")
    assert await services.vector_store.chunk_ids(tenant_id, model=E5) == ids(chunks)
