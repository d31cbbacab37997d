"""POST /api/v1/retrieval/search end to end: real ingestion, embedded PostgreSQL, local embedder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatbot_platform.app import create_app
from tests.factories import TenantWithKey, make_tenant
from tests.fixtures.database import make_settings
from tests.retrieval.corpora import ENGLISH, ITALIAN, external_ids, index_corpus, search


async def test_italian_questions_find_their_passage_with_a_complete_trace(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    body = await search(client, tenant, "quanto costa la carta d'identità?", trace=True)
    assert external_ids(body)[0] == "anagrafe"
    first = body["results"][0]
    assert first["title"] == "Carta d'identità elettronica"
    assert set(first) >= {
        "chunk_id",
        "document_id",
        "knowledge_base_id",
        "heading_path",
        "text",
        "score",
        "url",
    }
    stages = [stage["stage"] for stage in body["trace"]]
    assert stages == [
        "rewrite",
        "embed_query",
        "vector",
        "fulltext",
        "fused",
        "filtered",
        "reranked",
        "mmr",
        "neighbors",
        "total",
    ] or set(stages) >= {"rewrite", "vector", "fulltext", "fused", "reranked", "mmr", "neighbors"}
    assert all("ms" in stage for stage in body["trace"])
    assert 0.3 < body["confidence"] <= 1
    assert body["knowledge_base_ids"] == [tenant.default_kb_id]
    assert (await search(client, tenant, "quando si paga la TARI?"))["results"][0]["external_id"] == "tributi"


async def test_english_questions_find_their_passage(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="en")
    await index_corpus(client, tenant, ENGLISH)
    assert external_ids(await search(client, tenant, "how much is a parking permit?"))[0] == "parking"
    assert external_ids(await search(client, tenant, "when is plastic collected"))[0] == "waste"


def trace_ids(body: dict[str, Any], stage: str) -> set[str]:
    [record] = [s for s in body["trace"] if s["stage"] == stage]
    return {c["chunk_id"] for c in record["candidates"]}


async def chunk_ids_of(
    client: httpx.AsyncClient, tenant: TenantWithKey, document_ids: Iterable[str]
) -> set[str]:
    found: set[str] = set()
    for document_id in document_ids:
        page = await client.get(f"/api/v1/documents/{document_id}/chunks", headers=tenant.headers)
        found |= {chunk["id"] for chunk in page.json()["items"]}
    return found


async def test_every_leg_sees_only_the_tenants_own_chunks(client: httpx.AsyncClient) -> None:
    first = await make_tenant(client, default_language="it")
    second = await make_tenant(client, default_language="it")
    await index_corpus(client, first, ITALIAN)
    mine = await chunk_ids_of(
        client, second, (await index_corpus(client, second, dict(list(ITALIAN.items())[:2]))).values()
    )
    body = await search(client, second, "biblioteca prestito libri TARI mensa", trace=True)
    for stage in ("vector", "fulltext", "fused"):
        assert trace_ids(body, stage) <= mine, stage
    assert {r["chunk_id"] for r in body["results"]} <= mine
    other_kb = await client.post(
        "/api/v1/retrieval/search",
        json={"query": "biblioteca", "knowledge_base_ids": [first.default_kb_id]},
        headers=second.headers,
    )
    assert other_kb.status_code == 404


async def test_results_are_cached_until_the_knowledge_base_changes(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, dict(list(ITALIAN.items())[:3]))
    query = "orari della biblioteca civica"
    assert (await search(client, tenant, query))["cached"] is False
    assert (await search(client, tenant, query))["cached"] is True
    await index_corpus(client, tenant, {"biblioteca": ITALIAN["biblioteca"]})
    fresh = await search(client, tenant, query)
    assert fresh["cached"] is False
    assert external_ids(fresh)[0] == "biblioteca"


async def test_filters_modes_and_synonyms(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    filtered = await search(client, tenant, "rifiuti", filters={"external_ids": ["tributi", "scuola"]})
    assert set(external_ids(filtered)) <= {"tributi", "scuola"}
    assert external_ids(filtered)[0] == "tributi"
    keyword_only = await search(client, tenant, "prestito gratuito", mode="fulltext", trace=True)
    assert external_ids(keyword_only)[0] == "biblioteca"
    assert "vector" not in {s["stage"] for s in keyword_only["trace"]}
    assert external_ids(await search(client, tenant, "pasti per diete", mode="vector"))[0] == "scuola"
    assert (await search(client, tenant, "municipio", mode="fulltext"))["results"] == []
    patched = await client.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}",
        json={"settings": {"synonyms": {"municipio": ["anagrafe"]}}},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    assert external_ids(await search(client, tenant, "municipio", mode="fulltext"))[0] == "anagrafe"


async def test_several_knowledge_bases_in_their_own_languages(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    english = await client.post(
        "/api/v1/knowledge-bases", json={"name": "English", "language": "english"}, headers=tenant.headers
    )
    await index_corpus(client, tenant, {"biblioteca": ITALIAN["biblioteca"]})
    await index_corpus(
        client, tenant, {"parking": ENGLISH["parking"]}, knowledge_base_id=english.json()["id"]
    )
    assert external_ids(await search(client, tenant, "parking permits", mode="fulltext")) == ["parking"]
    assert external_ids(await search(client, tenant, "prestiti della biblioteca", mode="fulltext")) == [
        "biblioteca"
    ]
    only_italian = await search(
        client, tenant, "parking permits", mode="fulltext", knowledge_base_ids=[tenant.default_kb_id]
    )
    assert only_italian["results"] == []


async def test_bad_requests_get_clear_errors(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    url = "/api/v1/retrieval/search"
    assert (await client.post(url, json={"query": ""}, headers=tenant.headers)).status_code == 422
    assert (
        await client.post(url, json={"query": "x", "top_k": 0}, headers=tenant.headers)
    ).status_code == 422
    assert (
        await client.post(url, json={"query": "x", "mode": "magic"}, headers=tenant.headers)
    ).status_code == 422
    assert (await client.post(url, json={"query": "x"})).status_code == 401
    reader = await make_tenant(client, scopes=["documents:read"])
    assert (await client.post(url, json={"query": "x"}, headers=reader.headers)).status_code == 403


@pytest.fixture
async def single_kb_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path / "s", database_url, MULTI_KB_SEARCH_ENABLED="false"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def test_multi_knowledge_base_search_can_be_disabled(single_kb_client: httpx.AsyncClient) -> None:
    client = single_kb_client
    tenant = await make_tenant(client)
    other = await client.post("/api/v1/knowledge-bases", json={"name": "Other"}, headers=tenant.headers)
    both = [tenant.default_kb_id, other.json()["id"]]
    response = await client.post(
        "/api/v1/retrieval/search", json={"query": "x", "knowledge_base_ids": both}, headers=tenant.headers
    )
    assert response.status_code == 400
    assert "MULTI_KB_SEARCH_ENABLED" in response.json()["error"]["message"]
    assert (await search(client, tenant, "x"))["results"] == []


@pytest.fixture
async def unthrottled_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path / "storage", database_url, THROTTLE_API_REQUESTS="1000000"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as http:
            yield http


async def test_more_concurrent_searches_than_database_connections_all_answer(
    unthrottled_client: httpx.AsyncClient,
) -> None:
    """Each search takes a connection per leg; a request that also held its authentication's
    connection meanwhile starved the pool (30 connections) at 50 concurrent searches: 500s."""
    client = unthrottled_client
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    questions = [f"quanto costa la carta d'identità? ({n})" for n in range(60)]
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/retrieval/search", json={"query": q}, headers=tenant.headers)
            for q in questions
        )
    )
    assert [r.status_code for r in responses] == [200] * len(questions)
    assert all(r.json()["results"][0]["external_id"] == "anagrafe" for r in responses)
