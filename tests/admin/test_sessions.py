"""Session stores behind SESSION_DRIVER: Redis (the real server on 127.0.0.1) and process memory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from chatbot_platform.admin.sessions import MemorySessions, RedisSessions, SessionStore
from chatbot_platform.app import create_app
from tests.admin.helpers import log_in, make_platform_admin
from tests.fixtures.database import make_settings


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=6379)
    yield client
    await client.aclose()


async def check_store(store: SessionStore) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    first = await store.create(alice, ip="10.0.0.1", user_agent="test")
    second = await store.create(alice, ip=None, user_agent=None)
    other = await store.create(bob, ip=None, user_agent=None)
    assert first != second
    assert await store.user_of(first) == alice
    assert await store.user_of("not-a-token") is None
    await store.destroy(first)
    assert await store.user_of(first) is None
    assert await store.user_of(second) == alice
    await store.destroy_user(alice)
    assert await store.user_of(second) is None
    assert await store.user_of(other) == bob


async def test_redis_sessions_end_one_by_one_or_all_of_a_user(redis: Redis) -> None:
    await check_store(RedisSessions(redis, timedelta(minutes=5), f"test-{uuid.uuid4().hex[:8]}"))


async def test_memory_sessions_expire() -> None:
    await check_store(MemorySessions(timedelta(minutes=5)))
    expired = MemorySessions(timedelta(seconds=-1))
    token = await expired.create(uuid.uuid4(), ip=None, user_agent=None)
    assert await expired.user_of(token) is None


async def test_the_platform_keeps_redis_sessions_on_redis_database_apart_from_the_cache(
    tmp_path: Path, database_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        tmp_path,
        database_url,
        REDIS_HOST="127.0.0.1",
        SESSION_DRIVER="redis",
        CACHE_PREFIX=prefix,
        REDIS_DATABASE="4",
        REDIS_CACHE_DATABASE="3",
    )
    sessions, cache = Redis(db=4), Redis(db=3)
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
                await log_in(web, await make_platform_admin(application, f"{prefix}@example.com"))
                assert (await web.get("/admin/")).status_code == 200
        assert [key async for key in sessions.scan_iter(f"{prefix}:admin-session:*")]
        assert not [key async for key in cache.scan_iter(f"{prefix}:admin-session:*")]
    finally:
        for client in (sessions, cache):
            keys = [key async for key in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
