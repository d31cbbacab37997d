"""The scraper API: validation, tenant isolation, runs with live counters, cancel, single pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from chatbot_platform.app import create_app
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.scraper.conftest import create_config, run_now
from tests.scraper.site import Site, layout

JS_ONLY = (
    "<html><head><title>App</title></head><body><div id='app'></div><script>"
    "document.getElementById('app').innerHTML = '<h1>Orari dello sportello</h1>"
    "<p>Lo sportello apre alle nove, scritto da JavaScript.</p>';</script></body></html>"
)


BAD_OPTIONS = [
    ({}, "give at least one seed URL or sitemap"),
    ({"seeds": ["ftp://example.com/"]}, "URL scheme should be 'http' or 'https'"),
    ({"seeds": ["https://example.com/"], "include_patterns": ["("]}, "not a valid regular expression"),
    ({"seeds": ["https://example.com/"], "rate_limit": 0}, "greater than 0"),
    ({"seeds": ["https://example.com/"], "headers": {"Host": "x"}}, "cannot be set: Host"),
    ({"seeds": ["https://example.com/"], "max_depht": 2}, "Extra inputs are not permitted"),
    ({"seeds": ["https://example.com/"], "title_strategy": "og"}, "'title_tag', 'h1', 'og_title' or 'url'"),
]


async def test_bad_configurations_are_refused_with_a_message(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    for options, message in BAD_OPTIONS:
        body = {"name": "sito", "knowledge_base_id": tenant.default_kb_id, "options": options}
        response = await client.post("/api/v1/scraper/configs", json=body, headers=tenant.headers)
        assert response.status_code == 422, options
        assert message in response.text, response.text
    schedule = {
        "name": "s",
        "knowledge_base_id": tenant.default_kb_id,
        "options": {"seeds": ["https://a.it/"]},
    }
    too_often = await client.post(
        "/api/v1/scraper/configs",
        json={**schedule, "schedule": {"interval_minutes": 1}},
        headers=tenant.headers,
    )
    assert too_often.status_code == 422
    assert "greater than or equal to 5" in too_often.text


async def test_configurations_are_crud_and_invisible_to_other_tenants(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, bob = await make_tenant(client), await make_tenant(client)
    config = await create_config(
        client,
        alice,
        name="sito",
        seeds=["https://example.com/"],
        schedule={"interval_minutes": 60},
        headers={"Authorization": "Bearer segreto", "Accept-Language": "it"},
    )
    assert config["options"]["headers"] == {"Authorization": "********", "Accept-Language": "it"}
    assert config["options"]["respect_robots"] is True
    assert config["options"]["max_depth"] == 3
    assert config["schedule"] == {"interval_minutes": 60}
    assert config["next_run_at"] is not None
    url = f"/api/v1/scraper/configs/{config['id']}"
    duplicate = {"name": "sito", "knowledge_base_id": alice.default_kb_id, "options": config["options"]}
    assert (
        await client.post("/api/v1/scraper/configs", json=duplicate, headers=alice.headers)
    ).status_code == 409
    foreign_kb = {**duplicate, "name": "altro", "knowledge_base_id": bob.default_kb_id}
    assert (
        await client.post("/api/v1/scraper/configs", json=foreign_kb, headers=alice.headers)
    ).status_code == 404

    assert (await client.get(url, headers=bob.headers)).status_code == 404
    assert (await client.patch(url, json={"enabled": False}, headers=bob.headers)).status_code == 404
    assert (await client.post(f"{url}/runs", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/v1/scraper/configs", headers=bob.headers)).json()["total"] == 0
    run = (await client.post(f"{url}/runs", headers=alice.headers)).json()
    assert (await client.get(f"/api/v1/scraper/runs/{run['id']}", headers=bob.headers)).status_code == 404
    assert (
        await client.post(f"/api/v1/scraper/runs/{run['id']}/cancel", headers=bob.headers)
    ).status_code == 404
    assert (await client.post(f"{url}/runs", headers=alice.headers)).status_code == 409  # one active run

    cancelled = await client.post(f"/api/v1/scraper/runs/{run['id']}/cancel", headers=alice.headers)
    assert cancelled.json()["status"] == "cancelled"
    patched = await client.patch(
        url, json={"schedule": None, "name": "nuovo", "options": config["options"]}, headers=alice.headers
    )
    async with app.state.database.engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT options FROM scraper_configs WHERE id = :id"), {"id": config["id"]}
        )
    assert stored["headers"]["Authorization"] == "Bearer segreto"  # the masked value kept the secret
    assert (patched.json()["schedule"], patched.json()["name"], patched.json()["next_run_at"]) == (
        None,
        "nuovo",
        None,
    )
    runs = await client.get(f"{url}/runs", headers=alice.headers)
    assert runs.json()["total"] == 1

    # A run whose process died (no progress for minutes) does not block the configuration forever.
    orphan = (await client.post(f"{url}/runs", headers=alice.headers)).json()
    async with app.state.database.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE scraper_runs SET status = 'running', updated_at = now() - interval '10 minutes'"
                " WHERE id = :id"
            ),
            {"id": orphan["id"]},
        )
    assert (await client.post(f"{url}/runs", headers=alice.headers)).status_code == 202
    stalled = (await client.get(f"/api/v1/scraper/runs/{orphan['id']}", headers=alice.headers)).json()
    assert stalled["status"] == "failed"
    assert "stopped reporting progress" in stalled["error"]
    assert (await client.delete(url, headers=bob.headers)).status_code == 404
    assert (await client.delete(url, headers=alice.headers)).status_code == 204
    assert (await client.get(url, headers=alice.headers)).status_code == 404


async def test_a_running_crawl_shows_live_counters_and_stops_when_cancelled(
    app: FastAPI, client: httpx.AsyncClient, site: Site
) -> None:
    links = [f"/p{i}" for i in range(40)]
    site.page("/", layout("Home", "<p>Indice.</p>", links=links))
    for link in links:
        site.page(link, layout(link, f"<p>Pagina {link} con testo.</p>"), delay=0.1)
    tenant = await make_tenant(client)
    config = await create_config(client, tenant, seeds=[site.url("/")], rate_limit=10)
    crawl = asyncio.create_task(run_now(app, client, tenant, config["id"]))
    runs_url = f"/api/v1/scraper/configs/{config['id']}/runs"
    while not (runs := (await client.get(runs_url, headers=tenant.headers)).json()["items"]):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    run_url = f"/api/v1/scraper/runs/{runs[0]['id']}"
    while (live := (await client.get(run_url, headers=tenant.headers)).json())["fetched"] < 3:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # polling the API as a user's progress view does
    assert live["status"] == "running"
    assert live["found"] == 41
    await client.post(f"{run_url}/cancel", headers=tenant.headers)
    finished = await asyncio.wait_for(crawl, 10)
    assert finished["status"] == "cancelled"
    assert finished["cancel_requested"] is True
    assert finished["fetched"] < 20
    assert finished["vanished"] == 0  # an incomplete run never marks pages vanished


async def test_javascript_pages_are_rendered_in_chromium_when_asked(
    app: FastAPI, client: httpx.AsyncClient, site: Site
) -> None:
    site.page("/app", JS_ONLY)
    tenant = await make_tenant(client)
    body = {"url": site.url("/app"), "knowledge_base_id": tenant.default_kb_id}
    plain = await client.post("/api/v1/scraper/scrape-url", json=body, headers=tenant.headers)
    assert plain.status_code == 422
    assert "no text content" in plain.json()["error"]["message"]

    config = await create_config(
        client, tenant, seeds=[site.url("/app")], render_js=True, title_strategy="h1"
    )
    run = await run_now(app, client, tenant, config["id"])
    assert (run["status"], run["ingested"], run["failed"]) == ("completed", 1, 0)
    documents = (await client.get("/api/v1/documents", headers=tenant.headers)).json()["items"]
    assert [d["title"] for d in documents] == ["Orari dello sportello"]

    rendered = await client.post(
        "/api/v1/scraper/scrape-url", json={**body, "render_js": True}, headers=tenant.headers
    )
    assert rendered.status_code == 202, rendered.text
    assert rendered.json()["unchanged"] is True  # the same content the crawl ingested
    assert rendered.json()["document_id"] == documents[0]["id"]


async def test_a_single_page_is_scraped_into_a_document_keyed_by_its_canonical_url(
    client: httpx.AsyncClient, site: Site
) -> None:
    site.page(
        "/notizia?ref=home",
        '<html><head><title>Notizia</title><link rel="canonical" href="/notizia"></head>'
        "<body><main><h1>Notizia</h1><p>Il mercato si sposta in piazza.</p></main></body></html>",
    )
    site.raw("/robots.txt", b"User-agent: *\nDisallow: /vietata\n", "text/plain")
    site.page("/vietata", layout("Vietata", "<p>No.</p>"))
    tenant = await make_tenant(client)
    body = {"url": site.url("/notizia?ref=home"), "knowledge_base_id": tenant.default_kb_id}
    scraped = await client.post("/api/v1/scraper/scrape-url", json=body, headers=tenant.headers)
    assert scraped.status_code == 202, scraped.text
    assert (scraped.json()["url"], scraped.json()["title"]) == (site.url("/notizia"), "Notizia")
    document = (
        await client.get(f"/api/v1/documents/{scraped.json()['document_id']}", headers=tenant.headers)
    ).json()
    assert document["source"] == "web_page"

    refused = await client.post(
        "/api/v1/scraper/scrape-url", json={**body, "url": site.url("/vietata")}, headers=tenant.headers
    )
    assert refused.status_code == 422
    assert "robots.txt" in refused.json()["error"]["message"]
    missing = await client.post(
        "/api/v1/scraper/scrape-url", json={**body, "url": site.url("/nessuna")}, headers=tenant.headers
    )
    assert missing.status_code == 422
    assert "HTTP 404" in missing.json()["error"]["message"]


async def test_private_addresses_are_refused_unless_the_operator_allows_them(
    tmp_path: Path, database_url: str, site: Site
) -> None:
    site.page("/", layout("Home", "<p>Intranet.</p>"))
    app = create_app(make_settings(tmp_path / "strict", database_url, QUEUE_WORKERS_IN_PROCESS="false"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            tenant = await make_tenant(client)
            body = {"url": site.url("/"), "knowledge_base_id": tenant.default_kb_id}
            refused = await client.post("/api/v1/scraper/scrape-url", json=body, headers=tenant.headers)
            assert refused.status_code == 422
            assert "private or reserved address" in refused.json()["error"]["message"]
            config = await create_config(client, tenant, seeds=[site.url("/")])
            run = await run_now(app, client, tenant, config["id"])
            assert (run["status"], run["fetched"], run["failed"]) == ("completed", 0, 1)
    assert not site.hits["/"]
