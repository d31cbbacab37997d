"""The OpenAI-compatible embedder, over real HTTP against the fake OpenAI server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pytest

from chatbot_platform.embeddings.base import EmbeddingError
from chatbot_platform.embeddings.openai import OpenAIEmbedder, RetryPolicy
from chatbot_platform.kit.ratelimit import Limits, LocalRateBudget
from chatbot_platform.settings import load_settings
from tests.fixtures.fake_openai import FakeOpenAI, fake_embedding

API_KEY = "sk-test-" + "s3cr3t" * 6
FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.01, max_delay=5.0)
MakeEmbedder = Callable[..., OpenAIEmbedder]


def expected(texts: list[str], dim: int = 1536) -> np.ndarray:
    return np.array([fake_embedding(t, dim) for t in texts])


@pytest.fixture
async def make_embedder(fake_openai: FakeOpenAI) -> AsyncIterator[MakeEmbedder]:
    """Builds embedders pointed at the fake server (closed after the test)."""
    made: list[OpenAIEmbedder] = []

    def make(**options: Any) -> OpenAIEmbedder:
        defaults: dict[str, Any] = {
            "model": "text-embedding-3-small",
            "dim": 1536,
            "base_url": fake_openai.base_url,
            "api_key": API_KEY,
            "retry": FAST_RETRIES,
        }
        embedder = OpenAIEmbedder(**{**defaults, **options})
        made.append(embedder)
        return embedder

    yield make
    for embedder in made:
        await embedder.aclose()


async def test_vectors_come_back_in_input_order(make_embedder: MakeEmbedder) -> None:
    texts = ["primo", "secondo", "terzo"]
    vectors = await make_embedder().embed_passages(texts)
    assert np.allclose(vectors, expected(texts))
    assert np.allclose(await make_embedder().embed_query("primo"), expected(["primo"])[0])


async def test_passages_are_split_into_requests_by_count(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    texts = [f"testo {i}" for i in range(7)]
    vectors = await make_embedder(max_inputs=3).embed_passages(texts)
    sent = [r.body["input"] for r in fake_openai.requests_to("/v1/embeddings")]
    assert sent == [texts[0:3], texts[3:6], texts[6:7]]
    assert np.allclose(vectors, expected(texts))


async def test_passages_are_split_into_requests_by_characters(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    texts = ["a" * 10, "b" * 10, "c" * 10, "d" * 40, "e" * 5]
    await make_embedder(max_chars=25).embed_passages(texts)
    sent = [r.body["input"] for r in fake_openai.requests_to("/v1/embeddings")]
    assert sent == [texts[0:2], texts[2:3], texts[3:4], texts[4:5]]


async def test_no_texts_make_no_request(fake_openai: FakeOpenAI, make_embedder: MakeEmbedder) -> None:
    assert await make_embedder().embed_passages([]) == []
    assert fake_openai.requests == []


async def test_settings_supply_the_model_and_the_headers(fake_openai: FakeOpenAI) -> None:
    settings = load_settings(
        env_file=None,
        overrides={
            "OPENAI_API_BASE_URL": fake_openai.base_url,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_ORGANIZATION": "org-test",
            "OPENAI_PROJECT": "proj_test",
            "OPENAI_EMBEDDING_MODEL": "text-embedding-3-large",
            "OPENAI_EMBEDDING_DIM": "3072",
        },
    )
    embedder = OpenAIEmbedder.from_settings(settings)
    try:
        assert (embedder.model, embedder.dim) == ("text-embedding-3-large", 3072)
        assert len(await embedder.embed_query("ciao")) == 3072
    finally:
        await embedder.aclose()
    [request] = fake_openai.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["openai-organization"] == "org-test"
    assert request.headers["openai-project"] == "proj_test"
    assert request.body == {"model": "text-embedding-3-large", "input": ["ciao"], "encoding_format": "base64"}


async def test_no_authorization_header_without_a_key(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    await make_embedder(api_key=None).embed_query("ciao")
    [request] = fake_openai.requests
    assert "authorization" not in request.headers
    assert "openai-organization" not in request.headers


async def test_a_shortened_dimension_is_requested_from_models_that_support_it(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    vector = await make_embedder(dim=256).embed_query("ciao")
    assert len(vector) == 256
    assert fake_openai.requests[0].body["dimensions"] == 256


async def test_server_errors_are_retried_until_success(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    fake_openai.fail_next(2, status=500)
    vector = await make_embedder().embed_query("ciao")
    assert np.allclose(vector, expected(["ciao"])[0])
    assert len(fake_openai.requests) == 3


async def test_rate_limit_answers_are_retried_after_the_servers_retry_after(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    fake_openai.fail_next(1, status=429, retry_after=1)
    started = time.monotonic()
    await make_embedder().embed_query("ciao")
    assert time.monotonic() - started >= 0.95
    assert len(fake_openai.requests) == 2


async def test_timeouts_are_retried(fake_openai: FakeOpenAI, make_embedder: MakeEmbedder) -> None:
    fake_openai.delay_next(1.0)
    async with httpx.AsyncClient(timeout=0.2) as client:
        assert len(await make_embedder(client=client).embed_query("ciao")) == 1536
    assert len(fake_openai.requests) == 2


async def test_it_gives_up_after_three_tries_without_revealing_the_key(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    fake_openai.fail_next(5, status=503)
    with pytest.raises(EmbeddingError) as caught:
        await make_embedder().embed_passages(["ciao"])
    message = str(caught.value)
    assert "after 3 attempts" in message
    assert "HTTP 503" in message
    assert "127.0.0.1" in message
    assert API_KEY not in message
    assert len(fake_openai.requests) == 3


async def test_a_refused_key_fails_at_once_and_the_echoed_key_is_redacted(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    fake_openai.api_key = "sk-the-right-one"
    with pytest.raises(EmbeddingError) as caught:
        await make_embedder().embed_query("ciao")
    assert "HTTP 401" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert len(fake_openai.requests) == 1


async def test_a_wrong_dimension_is_an_error(fake_openai: FakeOpenAI, make_embedder: MakeEmbedder) -> None:
    fake_openai.force_dim = 768
    with pytest.raises(EmbeddingError, match=r"768-dimensional .* expected 1536"):
        await make_embedder().embed_passages(["ciao"])


async def test_unnormalised_vectors_from_a_compatible_server_are_normalised(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    fake_openai.default_dim, fake_openai.vector_scale = 4, 3.0
    async with httpx.AsyncClient() as client:
        raw = await client.post(f"{fake_openai.base_url}/embeddings", json={"model": "m", "input": ["ciao"]})
    assert np.linalg.norm(raw.json()["data"][0]["embedding"]) == pytest.approx(3.0)
    vector = await make_embedder(model="some-local-model", dim=4).embed_query("ciao")
    assert np.allclose(vector, expected(["ciao"], 4)[0])


async def test_requests_wait_for_the_rate_budget(
    fake_openai: FakeOpenAI, make_embedder: MakeEmbedder
) -> None:
    budget = LocalRateBudget(Limits(max_requests=2, max_tokens=1_000_000, window=1.0))
    started = time.monotonic()
    await make_embedder(budget=budget, max_inputs=1).embed_passages(["uno", "due", "tre"])
    assert time.monotonic() - started >= 0.95
    assert len(fake_openai.requests) == 3


async def test_closing_leaves_a_borrowed_client_open(make_embedder: MakeEmbedder) -> None:
    async with httpx.AsyncClient() as client:
        embedder = make_embedder(client=client)
        await embedder.aclose()
        assert not client.is_closed
        assert len(await embedder.embed_query("ciao")) == 1536
