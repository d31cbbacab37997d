"""Redis (a private redis-server of this test) stopped while the platform serves: chat and search keep
answering (the retrieval cache and throttles degrade to this process), `/health` reports Redis down,
nothing is lost, and everything is shared through Redis again once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.chat.served import Platform, Platforms
from tests.factories import TenantWithKey
from tests.reliability.processes import RedisServer, private_redis
from tests.retrieval.corpora import ITALIAN, index_corpus

QUESTION = "Quanto costa la carta d'identità elettronica?"


@pytest.fixture
def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    with private_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def platform(tmp_path: Path, database_url: str, redis_server: RedisServer) -> AsyncIterator[Platform]:
    platforms = Platforms(tmp_path, database_url)
    try:
        yield await platforms.start(
            REDIS_HOST="127.0.0.1",
            REDIS_PORT=str(redis_server.port),
            CACHE_STORE="redis",
            THROTTLE_CHAT_REQUESTS="1000",
        )
    finally:
        await platforms.aclose()


async def ask(platform: Platform, tenant: TenantWithKey) -> httpx.Response:
    body = {"model": "default", "messages": [{"role": "user", "content": QUESTION}]}
    return await platform.http.post("/v1/chat/completions", json=body, headers=tenant.headers, timeout=30)


async def test_chat_keeps_answering_while_redis_is_down_and_health_reports_it(
    platform: Platform, redis_server: RedisServer
) -> None:
    tenant = await platform.tenant(default_language="it")
    await index_corpus(platform.http, tenant, {"anagrafe": ITALIAN["anagrafe"]})
    healthy = await ask(platform, tenant)
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["citations"]
    assert (await platform.http.get("/health")).json()["checks"]["redis"]["ok"] is True

    redis_server.stop()
    for _ in range(3):
        started = time.monotonic()
        answered = await asyncio.wait_for(ask(platform, tenant), timeout=30)
        # Falling back must not cost the client: no stalled reconnection attempts per cache call.
        assert time.monotonic() - started < 5
        assert answered.status_code == 200, answered.text
        assert answered.json()["citations"], answered.json()
        search = await platform.http.post(
            "/api/v1/retrieval/search", json={"query": QUESTION}, headers=tenant.headers
        )
        assert search.status_code == 200, search.text
    health = await platform.http.get("/health")
    assert health.status_code == 503
    assert health.json()["checks"]["redis"]["ok"] is False
    assert health.json()["checks"]["database"]["ok"] is True
    # Writes go to PostgreSQL and its queue: an upload made during the outage is indexed.
    await index_corpus(platform.http, tenant, {"rifiuti": ITALIAN["rifiuti"]})

    redis_server.start()  # same port, empty: the client reconnects by itself
    for _ in range(50):
        if (await platform.http.get("/health")).status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert (await platform.http.get("/health")).status_code == 200
    again = await ask(platform, tenant)
    assert again.status_code == 200, again.text
    listed = await platform.http.get("/api/v1/documents", headers=tenant.headers)
    assert listed.json()["total"] == 2
