"""End to end on the real queues: a run is picked up by the `scraping` worker and its pages are
indexed by the ingestion workers with the local embedder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from chatbot_platform.app import create_app
from tests.factories import TenantWithKey, make_tenant
from tests.fixtures.database import make_settings
from tests.scraper.conftest import create_config
from tests.scraper.site import Site, layout


async def poll(
    client: httpx.AsyncClient, tenant: TenantWithKey, url: str, done: Any, patience: float = 60
) -> Any:
    deadline = asyncio.get_running_loop().time() + patience
    while not done(body := (await client.get(url, headers=tenant.headers)).json()):
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.2)
    return body


async def test_a_queued_run_is_crawled_by_the_worker_and_its_pages_become_searchable(
    tmp_path: Path, database_url: str, site: Site
) -> None:
    site.page("/", layout("Comune", "<h1>Comune</h1><p>Benvenuti.</p>", links=["/tributi"]))
    site.page("/tributi", layout("Tributi", "<h1>TARI</h1><p>La tassa sui rifiuti si paga in due rate.</p>"))
    settings = make_settings(tmp_path / "storage", database_url, FETCH_ALLOW_PRIVATE_NETWORKS="true")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tenant = await make_tenant(client)
            config = await create_config(client, tenant, seeds=[site.url("/")])
            started = await client.post(
                f"/api/v1/scraper/configs/{config['id']}/runs", headers=tenant.headers
            )
            run = await poll(
                client, tenant, f"/api/v1/scraper/runs/{started.json()['id']}", lambda r: r["finished_at"]
            )
            assert (run["status"], run["ingested"]) == ("completed", 2), run
            documents = await poll(
                client,
                tenant,
                "/api/v1/documents",
                lambda page: page["total"] == 2 and all(d["status"] == "indexed" for d in page["items"]),
            )
            tari = next(d for d in documents["items"] if d["title"] == "Tributi")
            assert tari["source_url"] == site.url("/tributi")
            chunks = await client.get(f"/api/v1/documents/{tari['id']}/chunks", headers=tenant.headers)
            assert "due rate" in chunks.json()["items"][0]["text"]
            assert chunks.json()["items"][0]["heading_path"] == ["TARI"]
