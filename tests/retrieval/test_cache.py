"""The retrieval caches keep compact bytes, in the process and in Redis (the real server on 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from redis.asyncio import Redis

from chatbot_platform.retrieval.cache import RetrievalCache
from tests.fixtures.redis import require_redis


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    await require_redis()
    client, prefix = Redis(host="127.0.0.1", port=6379), f"test-cache-{uuid.uuid4().hex[:8]}"
    yield client, prefix
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def float32_vector(dim: int) -> list[float]:
    return np.random.default_rng(7).standard_normal(dim).astype(np.float32).tolist()  # type: ignore[no-any-return]


async def test_a_query_vector_comes_back_exactly_from_the_process_cache() -> None:
    cache, vector = RetrievalCache(None), float32_vector(1536)
    assert await cache.get_embedding("m", "orari") is None
    await cache.put_embedding("m", "orari", vector)
    assert await cache.get_embedding("m", "orari") == vector
    assert await cache.get_embedding("other-model", "orari") is None


async def test_query_vectors_and_results_are_shared_through_redis_as_compact_bytes(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    writer, reader = RetrievalCache(client, prefix), RetrievalCache(client, prefix)
    vector, result = float32_vector(1536), {"results": [{"text": "Lo sportello apre alle 8."}]}
    await writer.put_embedding("m", "orari", vector)
    await writer.put_result("k", result, ttl=60)
    assert await reader.get_embedding("m", "orari") == vector
    assert await reader.get_result("k") == result
    [key] = [key async for key in client.scan_iter(f"{prefix}:rag:qvec:*")]
    assert len(await client.get(key) or b"") == 1536 * 4  # float32, not 49 KB of Python floats or JSON


async def test_a_result_is_not_cached_without_a_lifetime() -> None:
    cache = RetrievalCache(None)
    await cache.put_result("k", {"results": []}, ttl=0)
    assert await cache.get_result("k") is None
