"""Fixtures of the widget tests: a platform served over HTTP (upstream: the fake OpenAI server), a
tenant with an indexed corpus, a publishable key, and a website on another origin that embeds it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.chat.served import Platform, Platforms, grounded_reply
from tests.factories import TenantWithKey
from tests.fixtures.database import DatabaseCluster
from tests.fixtures.fake_openai import FakeOpenAI
from tests.retrieval.corpora import ITALIAN, index_corpus
from tests.widget.hosts import SOURCE_TITLE, Host, host_site

QUESTION = "Quanto costa la carta d'identità elettronica?"
QUICK_REPLY = "Quando passa la raccolta della carta?"


@dataclass
class Replies:
    """What the fake model answers: the grounded reply, or `override` when a test sets it."""

    override: str | None = None

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        return self.override if self.override is not None else grounded_reply(messages)


@dataclass
class Site:
    platform: Platform
    host: Host
    tenant: TenantWithKey
    widget_key: str
    fake: FakeOpenAI
    replies: Replies
    platforms: Platforms
    database_url: str

    def page(self, **data: str) -> str:
        return self.host.page(self.tenant.slug, self.widget_key, **data)


async def wait_indexed(platform: Platform, tenant: TenantWithKey, document_id: str) -> None:
    for _ in range(600):
        body = (await platform.http.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)).json()
        if body["status"] == "indexed":
            return
        assert body["status"] != "failed", body
        await asyncio.sleep(0.1)
    raise AssertionError("the source page was not indexed in time")


async def issue_widget_key(platform: Platform, tenant: TenantWithKey) -> str:
    issued = await platform.http.post("/api/v1/widget/keys", json={"name": "site"}, headers=tenant.headers)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["key"])


@pytest.fixture(scope="package")
async def site(databases: DatabaseCluster, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    name = await databases.clone()
    platforms = Platforms(tmp_path_factory.mktemp("widget"), databases.url(name))
    replies = Replies()
    try:
        with FakeOpenAI(reply=replies, chunk_delay=0.02) as fake:
            platform = await platforms.start(
                fake=fake,
                FETCH_ALLOW_PRIVATE_NETWORKS="true",
                WIDGET_CACHE_TTL="0",
                WIDGET_RATE_LIMIT="10000",
            )
            with host_site(platform.url) as host:
                tenant = await platform.tenant(default_language="it")
                corpus = {k: v for k, v in ITALIAN.items() if k != "anagrafe"}
                await index_corpus(platform.http, tenant, corpus)
                created = await platform.http.post(
                    "/api/v1/documents",
                    json={
                        "knowledge_base_id": tenant.default_kb_id,
                        "title": SOURCE_TITLE,
                        "url": f"{host.origin('127.0.0.1')}/source/anagrafe",
                    },
                    headers=tenant.headers,
                )
                assert created.status_code == 202, created.text
                await wait_indexed(platform, tenant, created.json()["id"])
                key = await issue_widget_key(platform, tenant)
                configured = await platform.http.patch(
                    "/api/v1/widget/config",
                    json={
                        "allowed_origins": [host.origin("localhost")],
                        "theme": {
                            "title": "Comune di Esempio",
                            "welcome_message": {"it": "Ciao! Chiedimi dei servizi del Comune.", "en": "Hi!"},
                            "quick_replies": [QUICK_REPLY],
                        },
                    },
                    headers=tenant.headers,
                )
                assert configured.status_code == 200, configured.text
                yield Site(platform, host, tenant, key, fake, replies, platforms, databases.url(name))
    finally:
        await platforms.aclose()
        await databases.drop(name)
