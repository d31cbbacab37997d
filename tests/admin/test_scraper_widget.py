"""The scraper and widget pages over HTTP: a queued run is cancelled; widget settings are validated."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.models import Role
from chatbot_platform.settings import Settings
from tests.admin.helpers import csrf_in, log_in, make_member, post_form
from tests.factories import make_tenant


@pytest.fixture
async def idle_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """No workers: a started run stays queued until cancelled."""
    application = create_app(settings.replace(QUEUE_WORKERS_IN_PROCESS="false"))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def idle_web(idle_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=idle_app), base_url="http://testserver"
    ) as c:
        yield c


async def test_a_queued_scraper_run_is_cancelled_from_its_page(
    idle_app: FastAPI, idle_web: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idle_app), base_url="http://t") as api:
        tenant = await make_tenant(api, slug="crawled")
    await log_in(idle_web, await make_member(idle_app, tenant.id, "editor@example.com", Role.EDITOR))
    base = "/admin/t/crawled/scraper"
    bad = await post_form(idle_web, base, {"name": "x", "knowledge_base_id": tenant.default_kb_id}, page=base)
    assert bad.status_code == 422  # no seed and no sitemap
    created = await post_form(
        idle_web,
        base,
        {
            "name": "Sito",
            "knowledge_base_id": tenant.default_kb_id,
            "seeds": "https://www.example.com/",
            "respect_robots": "on",
        },
        page=base,
    )
    assert created.status_code == 303
    config_page = created.headers["location"].split("?")[0]
    started = await post_form(idle_web, f"{config_page}/runs", page=config_page)
    assert started.status_code == 303
    again = await post_form(idle_web, f"{config_page}/runs", page=config_page)
    assert again.status_code == 409  # one active run per configuration
    page = (await idle_web.get(config_page)).text
    run_id = re.search(r'data-live-id="([0-9a-f-]{36})"', page)
    assert run_id is not None
    polled = await idle_web.get(f"{base}/runs/status.json?ids={run_id.group(1)}")
    assert polled.json()["items"][0]["status"] == "queued"
    cancelled = await idle_web.post(
        f"{base}/runs/{run_id.group(1)}/cancel", data={"csrf_token": csrf_in(page)}
    )
    assert cancelled.status_code == 303
    item = (await idle_web.get(f"{base}/runs/status.json?ids={run_id.group(1)}")).json()["items"][0]
    assert item["status"] == "cancelled"
    assert item["final"] is True
    assert item["label"] == "annullata"


async def test_widget_settings_are_validated_and_saved(
    idle_app: FastAPI, idle_web: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idle_app), base_url="http://t") as api:
        tenant = await make_tenant(api, slug="themed", name="Comune a tema")
    await log_in(idle_web, await make_member(idle_app, tenant.id, "owner@example.com", Role.OWNER))
    base = "/admin/t/themed/widget"
    bad = await post_form(idle_web, base, {"primary_color": "red", "enabled": "on"}, page=base)
    assert bad.status_code == 422
    bad_origin = await post_form(
        idle_web, base, {"allowed_origins": "not a site", "enabled": "on"}, page=base
    )
    assert bad_origin.status_code == 422
    saved = await post_form(
        idle_web,
        base,
        {
            "primary_color": "#112233",
            "allowed_origins": "https://www.comune.example",
            "enabled": "on",
            "welcome_it": "Ciao!",
        },
        page=base,
    )
    assert saved.status_code == 303
    page = (await idle_web.get(base)).text
    assert 'value="#112233"' in page
    assert "https://www.comune.example" in page
    assert "data-tenant=&#34;themed&#34;" in page  # the embed snippet, escaped
    issued = await post_form(idle_web, f"{base}/keys", {"name": "sito"}, page=base)
    key = re.search(r'id="new-widget-key">(pk_[^<]+)<', issued.text)
    assert key is not None
    assert f"key={key.group(1)}" in issued.text  # the preview frame uses the new key
    assert key.group(1) not in (await idle_web.get(base)).text  # never shown again
