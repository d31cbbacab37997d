"""Retrieval with a chat model configured: follow-up rewrite, multi-query/HyDE and the LLM reranker,
against the fake OpenAI-compatible server (the client talks HTTP to it as to OpenAI)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatbot_platform.app import create_app
from chatbot_platform.retrieval import llm_steps
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI
from tests.retrieval.corpora import ITALIAN, external_ids, index_corpus, search

STANDALONE = "Quanto costa la carta d'identità elettronica?"


def scripted(messages: list[dict[str, Any]]) -> str:
    """The model's answers, by the step that asks."""
    system = str(messages[0]["content"])
    if system == llm_steps.STANDALONE_PROMPT:
        return STANDALONE
    if system.startswith(llm_steps.QUERY_VARIANTS_PROMPT.split("{")[0][:60]):
        return '["prezzo della carta d\'identità", "costo documento di identità"]'
    if system == llm_steps.HYPOTHETICAL_PASSAGE_PROMPT:
        return "La carta d'identità elettronica costa 22 euro e si richiede in anagrafe."
    if system == llm_steps.RERANK_PROMPT:
        # Prefer the passage about the library, whatever the question: the trace must show it.
        numbers = re.findall(r"^\[(\d+)\]\n(.*)$", str(messages[-1]["content"]), flags=re.M)
        return str({n: (100 if "biblioteca" in text.lower() else 5) for n, text in numbers}).replace("'", '"')
    return "?"


@pytest.fixture
async def llm_client(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeOpenAI]]:
    with FakeOpenAI(reply=scripted, default_dim=384) as fake:
        settings = make_settings(
            tmp_path / "s",
            database_url,
            OPENAI_API_BASE_URL=fake.base_url,
            OPENAI_API_KEY="sk-test-llm",
            OPENAI_EMBEDDING_DIM="384",
            RAG_FEAT_MULTIQUERY="true",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client, fake


async def test_a_follow_up_is_rewritten_and_variants_are_searched_too(
    llm_client: tuple[httpx.AsyncClient, FakeOpenAI],
) -> None:
    client, _ = llm_client
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    history = [
        {"role": "user", "content": "Come si richiede la carta d'identità?"},
        {"role": "assistant", "content": "All'ufficio anagrafe, su appuntamento."},
    ]
    body = await search(client, tenant, "e quanto costa?", history=history, trace=True, mode="fulltext")
    assert body["query"] == STANDALONE
    assert external_ids(body)[0] == "anagrafe"
    [rewrite] = [s for s in body["trace"] if s["stage"] == "rewrite"]
    assert rewrite["original"] == "e quanto costa?"
    assert len(rewrite["variants"]) == 3
    stages = {s["stage"] for s in body["trace"]}
    assert {"fulltext[variant 1]", "fulltext[variant 3]"} <= stages


async def test_the_llm_reranker_reorders_the_top_candidates(
    llm_client: tuple[httpx.AsyncClient, FakeOpenAI],
) -> None:
    client, _ = llm_client
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    plain = await search(client, tenant, "carta d'identità costo", trace=True)
    assert external_ids(plain)[0] == "anagrafe"
    await client.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}",
        json={"settings": {"reranker_driver": "llm", "multiquery": False}},
        headers=tenant.headers,
    )
    reranked = await search(client, tenant, "carta d'identità costo", trace=True)
    assert "reranked_llm" in {s["stage"] for s in reranked["trace"]}
    assert external_ids(reranked).index("biblioteca") < external_ids(plain).index("biblioteca")


async def test_a_failing_model_leaves_the_search_working(
    llm_client: tuple[httpx.AsyncClient, FakeOpenAI],
) -> None:
    client, fake = llm_client
    tenant = await make_tenant(client, default_language="it")
    await index_corpus(client, tenant, ITALIAN)
    fake.fail_next(50, status=500)
    body = await search(
        client, tenant, "quando si paga la TARI?", history=[{"role": "user", "content": "ciao"}]
    )
    assert body["query"] == "quando si paga la TARI?"
    assert external_ids(body)[0] == "tributi"
