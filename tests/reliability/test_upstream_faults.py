"""The upstream model failing under concurrent chats: timeouts, 500s and 429s answer every request
promptly with a clear error (or a degraded answer), nothing hangs, no database connection is held,
and chat answers again as soon as the upstream does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.chat.served import Platform, platforms_for
from tests.factories import TenantWithKey
from tests.retrieval.corpora import ITALIAN, index_corpus

QUESTION = "Quanto costa la carta d'identità elettronica?"
CONCURRENT = 8


@pytest.fixture
async def platform(tmp_path: Path, database_url: str) -> AsyncIterator[Platform]:
    async for platforms in platforms_for(tmp_path, database_url):
        yield await platforms.start(OPENAI_TIMEOUT="0.5")


async def chats(platform: Platform, tenant: TenantWithKey, n: int) -> list[tuple[int, float, Any]]:
    async def one(number: int) -> tuple[int, float, Any]:
        begun = time.monotonic()
        body = {"model": "default", "messages": [{"role": "user", "content": f"{QUESTION} ({number})"}]}
        response = await platform.http.post(
            "/v1/chat/completions", json=body, headers=tenant.headers, timeout=30
        )
        return response.status_code, time.monotonic() - begun, response.json()

    return await asyncio.gather(*(one(number) for number in range(n)))


async def test_concurrent_chats_never_hang_when_the_upstream_times_out_fails_or_throttles(
    platform: Platform,
) -> None:
    fake = platform.fake
    assert fake is not None
    tenant = await platform.tenant(default_language="it")
    await index_corpus(platform.http, tenant, {"anagrafe": ITALIAN["anagrafe"]})

    fake.chat_delay = 5.0  # every answer takes longer than OPENAI_TIMEOUT
    timed_out = await chats(platform, tenant, CONCURRENT)
    fake.chat_delay = 0.0
    assert {status for status, _, _ in timed_out} == {504}, timed_out
    assert all(body["error"]["code"] == "upstream_timeout" for _, _, body in timed_out)
    assert max(seconds for _, seconds, _ in timed_out) < 15

    for status, answered in ((500, 502), (429, 503)):
        fake.fail_next(CONCURRENT * 4, status=status, retry_after=0)
        failed = await chats(platform, tenant, CONCURRENT)
        fake.reset()
        assert {code for code, _, _ in failed} == {answered}, (status, failed)
        assert max(seconds for _, seconds, _ in failed) < 15, (status, failed)
        for _, _, body in failed:
            assert body["error"]["message"], body
            assert "Injected" not in body["error"]["message"]

    assert platform.checked_out_connections() == 0
    recovered = await chats(platform, tenant, 2)
    assert [status for status, _, _ in recovered] == [200, 200], recovered
