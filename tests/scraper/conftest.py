"""Scraper tests: the platform with loopback fetching allowed (the operator setting) and a real site."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.scraper import runner
from chatbot_platform.settings import Settings
from tests.factories import TenantWithKey
from tests.fixtures.database import make_settings
from tests.scraper.site import Site, serving


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Jobs are run inline by the tests (workers off), so each crawl is deterministic."""
    return make_settings(
        tmp_path / "storage",
        database_url,
        FETCH_ALLOW_PRIVATE_NETWORKS="true",
        QUEUE_WORKERS_IN_PROCESS="false",
        SCRAPER_MAX_CONCURRENT="3",
        LOG_LEVEL="warning",
    )


@pytest.fixture
def site() -> Iterator[Site]:
    with serving(Site()) as running:
        yield running


async def create_config(client: httpx.AsyncClient, tenant: TenantWithKey, **options: Any) -> dict[str, Any]:
    body = {
        "name": options.pop("name", f"site-{uuid.uuid4().hex[:6]}"),
        "knowledge_base_id": options.pop("knowledge_base_id", tenant.default_kb_id),
        "options": {"rate_limit": 200, **options},
    }
    if "schedule" in options:
        body["schedule"] = body["options"].pop("schedule")
    response = await client.post("/api/v1/scraper/configs", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def run_now(
    app: FastAPI, client: httpx.AsyncClient, tenant: TenantWithKey, config_id: str
) -> dict[str, Any]:
    """Start a run through the API, execute its job here, and return the finished run."""
    started = await client.post(f"/api/v1/scraper/configs/{config_id}/runs", headers=tenant.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    run_id = started.json()["id"]
    await runner.execute_run(app.state.services, uuid.UUID(tenant.id), uuid.UUID(run_id))
    finished = await client.get(f"/api/v1/scraper/runs/{run_id}", headers=tenant.headers)
    return dict(finished.json())
