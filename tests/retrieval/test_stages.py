"""Stages seen through the API: neighbour expansion, MMR against near-duplicates, a Redis-shared cache."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.redis import require_redis
from tests.retrieval.corpora import ITALIAN, external_ids, index_corpus, search

SECTIONS = [
    "Il servizio di trasporto scolastico è gestito dal Comune per le scuole primarie.",
    "Le iscrizioni al trasporto si presentano online entro il 31 luglio di ogni anno.",
    "La tariffa annuale del trasporto scolastico è di 180 euro per il primo figlio.",
    "Per il secondo figlio la tariffa è ridotta del cinquanta per cento.",
    "Gli orari delle fermate sono pubblicati sul sito all'inizio di settembre.",
]


async def test_neighbours_come_with_each_hit_in_document_order(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    small = {"settings": {"chunk_max_chars": 200, "chunk_overlap_chars": 0, "neighbor_radius": 1}}
    patched = await client.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}", json=small, headers=tenant.headers
    )
    assert patched.status_code == 200, patched.text
    await index_corpus(client, tenant, {"trasporto": ("Trasporto scolastico", "\n\n".join(SECTIONS))})
    body = await search(client, tenant, "tariffa annuale del trasporto per il primo figlio", mode="fulltext")
    hit = body["results"][0]
    assert "180 euro" in hit["text"]
    around = [n["text"] for n in hit["neighbors"]]
    assert len(around) == 2, "one chunk each side"
    assert "iscrizioni" in around[0].lower()
    assert "fermate" in around[1]
    assert [n["ordinal"] for n in hit["neighbors"]] == sorted(n["ordinal"] for n in hit["neighbors"])


async def test_mmr_keeps_a_near_duplicate_out_of_the_top(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    title, text = ITALIAN["tributi"]
    corpus = {**ITALIAN, "tributi-copia": (title, text + " ")}
    await index_corpus(client, tenant, corpus)
    relevance_only = {"settings": {"mmr_lambda": 1.0}}
    body = await search(client, tenant, "rate della TARI e riduzione ISEE", top_k=3, trace=True)
    assert external_ids(body)[0] in {"tributi", "tributi-copia"}
    assert not {"tributi", "tributi-copia"} <= set(external_ids(body)[:2]), "the copy adds nothing new"
    await client.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}", json=relevance_only, headers=tenant.headers
    )
    plain = await search(client, tenant, "rate della TARI e riduzione ISEE", top_k=3)
    assert {"tributi", "tributi-copia"} == set(external_ids(plain)[:2])


@pytest.fixture
async def redis_apps(tmp_path: Path, database_url: str) -> AsyncIterator[list[FastAPI]]:
    await require_redis()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    # Two processes of one deployment: the same database, file storage and Redis.
    settings = make_settings(tmp_path / "shared", database_url, REDIS_HOST="127.0.0.1", CACHE_PREFIX=prefix)
    apps = [create_app(settings), create_app(settings)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        yield apps


async def test_with_redis_the_cache_is_shared_by_processes(redis_apps: list[FastAPI]) -> None:
    first, second = (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") for app in redis_apps
    )
    async with first, second:
        tenant = await make_tenant(first, default_language="it")
        await index_corpus(first, tenant, dict(list(ITALIAN.items())[:2]))
        assert (await search(first, tenant, "carta d'identità"))["cached"] is False
        assert (await search(second, tenant, "carta d'identità"))["cached"] is True
        await index_corpus(second, tenant, {"biblioteca": ITALIAN["biblioteca"]})
        assert (await search(first, tenant, "carta d'identità"))["cached"] is False
