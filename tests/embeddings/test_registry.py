"""Choosing and building embedders from the settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from redis.asyncio import Redis

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.embeddings.local import LocalE5Embedder
from chatbot_platform.embeddings.openai import OpenAIEmbedder
from chatbot_platform.embeddings.registry import (
    EMBEDDERS,
    build_embedder,
    choose_embedder,
    register_embedder,
)
from chatbot_platform.settings import Settings, load_settings
from tests.fixtures.fake_openai import FakeOpenAI, fake_embedding


def settings_with(**overrides: str) -> Settings:
    return load_settings(env_file=None, overrides=overrides)


class ConstantEmbedder:
    """A third-party provider: every text maps to the same vector."""

    model = "constant"
    dim = 2

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    async def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]

    async def aclose(self) -> None:
        return None


@pytest.fixture
def constant_provider() -> Iterator[str]:
    name = f"constant-{uuid.uuid4().hex[:8]}"
    register_embedder(name, lambda _settings, _redis: ConstantEmbedder())
    yield name
    EMBEDDERS.pop(name)


def test_without_openai_settings_the_offline_model_is_used() -> None:
    settings = settings_with(OPENAI_API_BASE_URL="https://api.openai.com/v1/")
    assert choose_embedder(settings) == "local"
    embedder = build_embedder(settings)
    assert isinstance(embedder, LocalE5Embedder)
    assert (embedder.model, embedder.dim) == ("multilingual-e5-small", 384)


def test_an_api_key_selects_openai() -> None:
    settings = settings_with(OPENAI_API_KEY="sk-test", OPENAI_EMBEDDING_MODEL="text-embedding-3-large")
    assert choose_embedder(settings) == "openai"
    embedder = build_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model == "text-embedding-3-large"


def test_a_compatible_server_without_a_key_selects_openai() -> None:
    assert choose_embedder(settings_with(OPENAI_API_BASE_URL="http://127.0.0.1:9/v1")) == "openai"


async def test_a_registered_provider_is_built_by_name(constant_provider: str) -> None:
    embedder: Embedder = build_embedder(settings_with(), provider=constant_provider)
    assert await embedder.embed_query("x") == [1.0, 0.0]


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="not a registered embedder"):
        build_embedder(settings_with(), provider="nope")


async def test_the_built_openai_embedder_talks_to_the_configured_server(fake_openai: FakeOpenAI) -> None:
    embedder = build_embedder(settings_with(OPENAI_API_BASE_URL=fake_openai.base_url))
    try:
        assert np.allclose(await embedder.embed_query("ciao"), fake_embedding("ciao", 1536))
    finally:
        await embedder.aclose()
    assert "authorization" not in fake_openai.requests[0].headers


async def test_with_redis_the_openai_budget_is_kept_in_redis(
    fake_openai: FakeOpenAI, redis: Redis, redis_prefix: str
) -> None:
    settings = settings_with(OPENAI_API_BASE_URL=fake_openai.base_url, CACHE_PREFIX=redis_prefix)
    embedder = build_embedder(settings, redis=redis)
    try:
        await embedder.embed_passages(["uno", "due"])
    finally:
        await embedder.aclose()
    assert await redis.zcard(f"{redis_prefix}:ratelimit:openai:grants") == 1
