"""`cbp scrape run` and `cbp scrape url`, run as an operator runs them."""

from __future__ import annotations

import json

import httpx

from tests.factories import make_tenant
from tests.fixtures.cli import cbp
from tests.scraper.conftest import create_config
from tests.scraper.site import Site, layout


def last_json(stdout: str) -> dict[str, object]:
    return dict(json.loads(stdout[stdout.rindex("\n{\n") + 1 :] if "\n{\n" in stdout else stdout))


async def test_the_cli_crawls_a_configuration_and_scrapes_one_page(
    client: httpx.AsyncClient, site: Site, env: dict[str, str]
) -> None:
    site.page("/", layout("Home", "<h1>Benvenuti</h1><p>Il portale.</p>", links=["/uffici"]))
    site.page("/uffici", layout("Uffici", "<h1>Uffici</h1><p>Gli uffici comunali.</p>"))
    site.page("/avviso", layout("Avviso", "<h1>Avviso</h1><p>Chiusura straordinaria.</p>"))
    tenant = await make_tenant(client)
    config = await create_config(client, tenant, seeds=[site.url("/")])
    operator = {**env, "FETCH_ALLOW_PRIVATE_NETWORKS": "true", "QUEUE_WORKERS_IN_PROCESS": "false"}

    crawled = cbp("scrape", "run", config["id"], env=operator)
    summary = last_json(crawled.stdout)
    assert (summary["status"], summary["found"], summary["ingested"], summary["failed"]) == (
        "completed",
        2,
        2,
        0,
    )
    assert "found 2" in crawled.stdout  # the progress line

    scraped = last_json(
        cbp("scrape", "url", site.url("/avviso"), "--kb", tenant.default_kb_id, env=operator).stdout
    )
    assert (scraped["title"], scraped["url"], scraped["unchanged"]) == ("Avviso", site.url("/avviso"), False)
    documents = (await client.get("/api/v1/documents", headers=tenant.headers)).json()
    assert sorted(d["title"] for d in documents["items"]) == ["Avviso", "Home", "Uffici"]
