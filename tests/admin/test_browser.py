"""The admin UI in Debian's Chromium against the platform served for real (Uvicorn, fake OpenAI).

One journey shares one server: a platform admin signs in, creates a tenant and a knowledge base,
uploads a PDF and watches it reach `indexed`, runs the RAG tester, issues and revokes an API key;
then a viewer of the same tenant sees the pages but every change is refused by the server.
It also creates a scraper configuration and starts it (its counters update live), changes the
widget colour (the preview follows before saving) and issues a publishable key. Screenshots of the
main pages go to docs/screenshots/ when CBP_SCREENSHOTS=1.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fpdf import FPDF
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from chatbot_platform.admin import service
from chatbot_platform.app import create_app
from chatbot_platform.kit.db import Database
from tests.admin.helpers import PASSWORD
from tests.chat.served import grounded_reply, serve
from tests.factories import ADMIN
from tests.fixtures.browser import screenshot
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI
from tests.scraper.site import Site, serving

ROOT_EMAIL = "root@example.com"
VIEWER_EMAIL = "viewer@example.com"
INDEXING_TIMEOUT_MS = 90_000


@dataclass
class Served:
    url: str
    api: httpx.AsyncClient


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(
        0,
        8,
        "Carta d'identita elettronica\n\n"
        "La carta d'identita elettronica costa 22 euro e si richiede all'ufficio anagrafe del comune. "
        "Servono una fototessera recente e la tessera sanitaria. La carta arriva per posta in sei giorni.",
    )
    return bytes(pdf.output())


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply=grounded_reply) as fake:
        yield fake


@pytest.fixture
def site() -> Iterator[Site]:
    with serving(Site()) as running:
        running.page(
            "/",
            "<html><head><title>Comune</title></head><body><h1>Comune</h1>"
            '<p>Il municipio apre il lunedi.</p><a href="/tributi">Tributi</a></body></html>',
        )
        running.page(
            "/tributi",
            "<html><head><title>Tributi</title></head><body><h1>Tributi</h1>"
            "<p>La TARI si paga in due rate.</p></body></html>",
        )
        yield running


@pytest.fixture
async def served(tmp_path: Path, database_url: str, fake_llm: FakeOpenAI) -> AsyncIterator[Served]:
    settings = make_settings(
        tmp_path / "storage",
        database_url,
        OPENAI_API_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY="sk-upstream",
        FETCH_ALLOW_PRIVATE_NETWORKS="true",  # the test website is on 127.0.0.1
        LOG_LEVEL="warning",
    )
    database = await Database.open(settings)
    try:
        async with database.transaction() as session:
            await service.create_platform_admin(session, ROOT_EMAIL, "Root", PASSWORD)
    finally:
        await database.close()
    with serve(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            yield Served(url, api)


async def sign_in(page: Page, url: str, email: str) -> None:
    await page.goto(f"{url}/admin/")
    await expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Accedi").click()


def menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Menu")


async def shot(page: Page, name: str) -> None:
    await screenshot(page, f"admin-{name}")


async def test_a_platform_admin_runs_a_tenant_and_a_viewer_cannot_change_anything(
    served: Served, site: Site, browser: Browser, page: Page
) -> None:
    url, api = served.url, served.api
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{url}/admin/login")
    await shot(page, "login")
    await sign_in(page, url, ROOT_EMAIL)
    await expect(page.get_by_role("heading", name="Panoramica")).to_be_visible()

    # keyboard: the first Tab reaches the skip link
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"

    # a tenant, from the platform admin's tenant page
    await menu(page).get_by_role("link", name="Tenant", exact=True).click()
    await page.get_by_label("Nome").fill("Comune di Prova")
    await page.get_by_label("Slug").fill("comune")
    await page.get_by_role("button", name="Crea").click()
    await expect(page).to_have_url(f"{url}/admin/t/comune/?notice=flash.saved")

    # a knowledge base with a retrieval override
    await menu(page).get_by_role("link", name="Basi di conoscenza").click()
    await page.get_by_label("Nome").fill("Servizi")
    await page.locator("#kb-language").select_option("italian")
    await page.locator("details summary").click()
    await page.locator("#s_vector_top_k").fill("30")
    await page.get_by_role("button", name="Crea").click()
    await expect(page.get_by_text("Base di conoscenza creata.")).to_be_visible()
    await expect(page.locator("#s_vector_top_k")).to_have_value("30")

    # upload a PDF and a text file at once; the list updates itself until both are indexed
    await menu(page).get_by_role("link", name="Documenti").click()
    await page.locator("#up-kb").select_option(label="Servizi")
    await page.locator("#up-files").set_input_files(
        [
            {"name": "carta-identita.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()},
            {"name": "orari.txt", "mimeType": "text/plain", "buffer": b"L'anagrafe apre alle 9."},
        ]
    )
    await page.get_by_role("button", name="Carica").click()
    await expect(page.get_by_text("File accettati")).to_be_visible()
    statuses = page.locator('[data-field="status"]')
    await expect(statuses).to_have_count(2)
    for index in range(2):
        await expect(statuses.nth(index)).to_have_attribute(
            "data-status", "indexed", timeout=INDEXING_TIMEOUT_MS
        )
    await expect(statuses.first).to_have_text("indicizzato")
    await shot(page, "documents")
    await page.get_by_role("link", name="carta-identita.pdf").click()
    await expect(page.get_by_text("costa 22 euro")).to_be_visible()

    # the RAG tester: passages with scores, every stage of the trace, the answer with its citation
    await menu(page).get_by_role("link", name="Tester RAG").click()
    await page.get_by_label("Domanda").fill("Quanto costa la carta d'identità elettronica?")
    await page.get_by_role("button", name="Esegui").click()
    await expect(page.locator("#rag-answer")).to_contain_text("Secondo la fonte")
    await expect(page.locator("#rag-results tbody tr").first).to_contain_text("22 euro")
    stages = await page.locator("#rag-trace summary strong").all_text_contents()
    assert {"rewrite", "fused", "mmr"} <= set(stages), stages
    await shot(page, "rag-tester")

    # the scraper: a configuration, a run started from the page, its counters updating live
    await menu(page).get_by_role("link", name="Scraper").click()
    await page.get_by_label("Nome").fill("Sito del comune")
    await page.locator("#sc-kb").select_option(label="Servizi")
    await page.locator("#sc-seeds").fill(site.url("/"))
    await page.locator("#sc-rate").fill("50")
    await page.get_by_role("button", name="Crea").click()
    await page.get_by_role("button", name="Avvia ora").click()
    await expect(page.get_by_text("Esecuzione avviata.")).to_be_visible()
    run = page.locator("#scraper-runs tbody tr").first
    await expect(run.locator('[data-field="status"]')).to_have_attribute(
        "data-status", "completed", timeout=60_000
    )
    await expect(run.locator('[data-field="fetched"]')).to_have_text("2")
    await expect(run.locator('[data-field="ingested"]')).to_have_text("2")
    await expect(run.get_by_role("button", name="Annulla")).to_have_count(0)  # finished: nothing to cancel
    await shot(page, "scraper")

    # the widget: a colour changes the preview before saving; a publishable key shows the real widget
    await menu(page).get_by_role("link", name="Widget").click()
    header = page.locator("#widget-mock-header")
    await page.locator("#w-primary_color").fill("#c0392b")
    await expect(header).to_have_css("background-color", "rgb(192, 57, 43)")
    await page.locator("#w-origins").fill("https://www.comune.example")
    await page.get_by_role("button", name="Salva").click()
    await expect(page.get_by_text("Salvato.")).to_be_visible()
    await expect(page.locator("#w-primary_color")).to_have_value("#c0392b")
    await expect(header).to_have_css("background-color", "rgb(192, 57, 43)")
    await page.get_by_role("button", name="Nuova chiave").click()
    widget_key = (await page.locator("#new-widget-key").text_content() or "").strip()
    assert widget_key.startswith("pk_")
    await expect(page.locator("#widget-snippet")).to_contain_text(widget_key)
    await expect(page.frame_locator("iframe.preview").locator("h1")).to_contain_text("Comune di Prova")
    await shot(page, "widget")
    await page.goto(f"{url}/admin/t/comune/widget")
    await page.locator("#widget-keys").get_by_role("button", name="Revoca").click()
    await expect(page.get_by_text("Chiave revocata.")).to_be_visible()
    await expect(page.locator("#widget-keys")).to_contain_text("Revocata")

    # an API key: the secret is shown once and works; revoked, it stops working
    await menu(page).get_by_role("link", name="Chiavi API").click()
    await page.get_by_label("Nome").fill("sito web")
    await page.get_by_role("button", name="Emetti").click()
    secret = (await page.locator("#new-secret").text_content() or "").strip()
    assert secret.startswith("cbp_")
    assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})).status_code == 200
    await shot(page, "keys")
    await page.goto(f"{url}/admin/t/comune/keys")
    await expect(page.locator("#new-secret")).to_have_count(0)  # never shown again
    await page.get_by_role("button", name="Revoca").click()
    await expect(page.get_by_text("Chiave revocata.")).to_be_visible()
    assert (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})).status_code == 401

    # the dashboard counts what was done; English on request
    await menu(page).get_by_role("link", name="Panoramica").first.click()
    await expect(page.locator('[data-count="indexed"]')).to_have_text("4")  # 2 uploaded, 2 scraped
    await page.locator("#locale-select").select_option("en")
    await expect(page.get_by_role("heading", name=re.compile("^Dashboard"))).to_be_visible()
    await shot(page, "dashboard")

    tenants = (await api.get("/api/v1/tenants", headers=ADMIN)).json()["items"]
    tenant_id = next(t["id"] for t in tenants if t["slug"] == "comune")
    added = await api.post(
        f"/api/v1/tenants/{tenant_id}/users",
        json={"email": VIEWER_EMAIL, "name": "Viewer", "role": "viewer", "password": PASSWORD},
        headers=ADMIN,
    )
    assert added.status_code == 201
    await viewer_cannot_change_anything(browser, url, api, tenant_id)


async def viewer_cannot_change_anything(
    browser: Browser, url: str, api: httpx.AsyncClient, tenant_id: str
) -> None:
    context: BrowserContext = await browser.new_context(
        locale="it-IT", viewport={"width": 390, "height": 844}
    )
    try:
        page = await context.new_page()
        # keyboard only: the form is reachable and submitted without a mouse
        await page.goto(f"{url}/admin/t/comune/")
        await page.get_by_label("E-mail").focus()
        await page.keyboard.type(VIEWER_EMAIL)
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{url}/admin/t/comune/")
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await shot(page, "mobile-viewer")
        await page.goto(f"{url}/admin/t/comune/documents")
        await expect(page.locator("#up-files")).to_have_count(0)
        await page.goto(f"{url}/admin/t/comune/keys")
        await expect(page.get_by_role("button", name="Revoca")).to_have_count(0)
        await page.goto(f"{url}/admin/t/comune/rag")
        await expect(page.get_by_role("button", name="Esegui")).to_have_count(0)
        token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert token
        keys = (await api.get(f"/api/v1/tenants/{tenant_id}/api-keys", headers=ADMIN)).json()
        kbs_before = await page.context.request.get(f"{url}/admin/t/comune/knowledge-bases")
        base = f"{url}/admin/t/comune"
        scraper_page = await context.request.get(f"{base}/scraper")
        config_id = re.search(r"/scraper/([0-9a-f-]{36})", await scraper_page.text())
        assert config_id is not None
        attempts = {
            f"{base}/knowledge-bases": {"name": "Nuova", "csrf_token": token},
            f"{base}/scraper": {"name": "furtivo", "seeds": "https://example.com/", "csrf_token": token},
            f"{base}/scraper/{config_id.group(1)}/runs": {"csrf_token": token},
            f"{base}/widget": {"primary_color": "#000000", "csrf_token": token},
            f"{base}/widget/keys": {"name": "furtiva", "csrf_token": token},
            f"{base}/rag": {"query": "ciao", "target": "default", "csrf_token": token},
            f"{base}/keys": {"name": "furtiva", "csrf_token": token},
            f"{base}/keys/{keys[0]['id']}/revoke": {"csrf_token": token},
        }
        for path, form in attempts.items():
            response = await context.request.post(path, form=form, max_redirects=0)
            assert response.status == 403, path
        upload = await context.request.post(
            f"{base}/documents",
            multipart={
                "csrf_token": token,
                "knowledge_base_id": "00000000-0000-0000-0000-000000000000",
                "files": {"name": "x.txt", "mimeType": "text/plain", "buffer": b"testo"},
            },
        )
        assert upload.status == 403
        kbs_after = await page.context.request.get(f"{url}/admin/t/comune/knowledge-bases")
        assert "Nuova" not in await kbs_after.text()
        assert (await kbs_before.text()).count("<tr>") == (await kbs_after.text()).count("<tr>")
    finally:
        await context.close()
