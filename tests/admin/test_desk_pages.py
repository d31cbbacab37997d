"""The service desk's pages of the admin UI over HTTP: analytics (tiles, SVG charts, CSV), forms and
their submissions, transcripts and a visitor's erasure; roles refused on the server, tenants apart."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect

from chatbot_platform.admin import service as admin_service
from chatbot_platform.desk import forms
from chatbot_platform.desk.schemas import SubmissionCreate
from chatbot_platform.kit.db import Database
from chatbot_platform.models import Role
from tests.admin.helpers import (
    PASSWORD,
    Account,
    csrf_in,
    log_in,
    make_member,
    make_platform_admin,
    post_form,
)
from tests.chat.served import Platform, Platforms
from tests.desk.conftest import Hooks, Inbox, free_port, hook_server
from tests.desk.seed import seed
from tests.factories import make_tenant
from tests.fixtures.browser import screenshot
from tests.fixtures.database import make_settings
from tests.widget.hosts import Host, host_site

ROOT = "root@example.com"
W = "#chatbot-platform-widget"


async def test_analytics_shows_tiles_charts_and_tops_and_exports_csv_to_an_analyst_of_that_tenant_only(
    web: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    await make_platform_admin(app)
    tenant = await make_tenant(web, slug="comune-a")
    other = await make_tenant(web, slug="comune-b")
    seeded = await seed(app.state.database, database_url, tenant.id)
    analyst = await make_member(app, tenant.id, "analyst@example.com", Role.ANALYST)
    await log_in(web, analyst)

    page = await web.get("/admin/t/comune-a/analytics")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-tile="questions">4<' in html  # the answer 100 days ago is out of the default 30 days
    assert 'data-tile="handoffs">1<' in html
    assert 'data-tile="answer_rate">75.0%<' in html
    assert 'data-tile="dont_know_rate">25.0%<' in html
    assert 'data-tile="feedback_positive">1<' in html
    assert 'data-tile="feedback_negative">1<' in html
    assert 'data-tile="p50">' in html
    assert html.count("<rect ") >= 4  # two days of questions, one day of two ratings
    assert f"{seeded.day1.date().isoformat()}: 3 Domande" in html
    assert "quali sono gli orari?" in html
    assert "https://comune.example/orari" in html
    assert "<script>" not in html
    assert "style=" not in html

    day = seeded.day2.date().isoformat()
    one_day = await web.get(f"/admin/t/comune-a/analytics?since={day}&until={day}")
    assert 'data-tile="questions">1<' in one_day.text

    exported = await web.get(f"/admin/t/comune-a/analytics/export?report=daily&since={day}&until={day}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["day"], r["questions"], r["handoffs"]) for r in rows] == [(day, "1", "1")]
    top = await web.get("/admin/t/comune-a/analytics/export?report=top_questions")
    assert "quali sono gli orari?,3" in top.text

    # another tenant's numbers do not exist for this analyst
    assert (await web.get("/admin/t/comune-b/analytics")).status_code == 404
    assert (await web.get("/admin/t/comune-b/analytics/export")).status_code == 404
    assert other.slug == "comune-b"


async def test_analytics_in_english_and_signed_out_redirect(web: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await web.get("/admin/t/x/analytics")).status_code == 303
    root = await make_platform_admin(app)
    await log_in(web, root)
    await make_tenant(web, slug="empty")
    await post_form(web, "/admin/locale", {"locale": "en", "next": "/admin/"})
    page = await web.get("/admin/t/empty/analytics?since=2026-01-10&until=2026-01-01")
    assert page.status_code == 200
    assert "Questions per day" in page.text
    assert "No data in this period." in page.text
    assert 'value="2026-01-01"' in page.text
    assert 'value="2026-01-10"' in page.text
    builder = await web.get("/admin/t/empty/forms/new")
    assert "New form" in builder.text
    assert "When to show it" in builder.text
    transcripts_page = await web.get("/admin/t/empty/transcripts")
    assert "No conversations found." in transcripts_page.text
    assert "Erase one visitor&#39;s data (GDPR)" in transcripts_page.text


BUILDER = {
    "name": "preventivi",
    "title": "Chiedi un preventivo",
    "description": "<b>non è HTML</b>",
    "field_rows": "4",
    "f0_name": "nome",
    "f0_label": "Nome",
    "f0_type": "text",
    "f0_required": "on",
    "f0_min_length": "2",
    "f1_name": "email",
    "f1_label": "E-mail",
    "f1_type": "email",
    "f1_required": "on",
    "f2_name": "servizio",
    "f2_label": "Servizio",
    "f2_type": "select",
    "f2_options": "Mensa\nTrasporto",
    "f3_name": "",
    "keywords": "preventivo, prezzo",
    "after_messages": "5",
    "on_dont_know": "on",
    "enabled": "on",
    "min_fill_seconds": "0",
    "notify_emails": "vendite@comune.example",
    "webhook_url": "https://crm.example/hook",
    "webhook_secret": "a-secret-of-16-chars",
}


async def _submit(app: FastAPI, tenant_id: str, form_id: uuid.UUID, name: str) -> None:
    key = b"test signing key"
    async with app.state.database.transaction() as session:
        token = forms.form_token(key, form_id, issued_at=time.time() - 5)
        body = SubmissionCreate(data={"nome": name, "email": "maria@example.org"}, form_token=token)
        who = forms.Submitter(visitor_id="v-1", conversation_external_id="c-1", language="it")
        await forms.submit(session, uuid.UUID(tenant_id), form_id, body, who, signing_key=key)


async def test_an_editor_builds_a_form_and_works_its_submissions_a_viewer_only_reads(
    web: httpx.AsyncClient, app: FastAPI
) -> None:
    await make_platform_admin(app)
    tenant = await make_tenant(web, slug="comune-a")
    await make_tenant(web, slug="comune-b")
    editor = await make_member(app, tenant.id, "editor@example.com", Role.EDITOR)
    viewer = await make_member(app, tenant.id, "viewer@example.com", Role.VIEWER)
    await log_in(web, editor)
    base = "/admin/t/comune-a/forms"

    refused = await post_form(web, base, {**BUILDER, "f1_name": "Bad Name"}, page=f"{base}/new")
    assert refused.status_code == 422
    assert "Controlla i campi" in refused.text
    assert 'value="Chiedi un preventivo"' in refused.text
    created = await post_form(web, base, BUILDER, page=f"{base}/new")
    assert created.status_code == 303, created.text
    form_url = created.headers["location"].split("?")[0]
    form_id = uuid.UUID(form_url.rsplit("/", 1)[1])
    again = await post_form(web, base, BUILDER, page=f"{base}/new")
    assert again.status_code == 409  # the name is taken

    page = await web.get(form_url)
    assert page.status_code == 200
    assert "&lt;b&gt;non è HTML&lt;/b&gt;" in page.text  # escaped
    assert 'id="f2_options"' in page.text
    assert "Mensa\nTrasporto" in page.text
    assert 'name="field_rows" value="6"' in page.text  # three fields and three empty rows
    async with app.state.database.transaction() as session:
        stored = forms.view(await forms.get_or_raise(session, uuid.UUID(tenant.id), form_id))
    assert [(f.name, f.type.value, f.required) for f in stored.fields] == [
        ("nome", "text", True),
        ("email", "email", True),
        ("servizio", "select", False),
    ]
    assert stored.fields[0].min_length == 2
    assert stored.fields[2].options == ["Mensa", "Trasporto"]
    assert stored.triggers.keywords == ["preventivo", "prezzo"]
    assert stored.triggers.after_messages == 5
    assert stored.webhook_secret_set
    assert stored.notify_emails == ["vendite@comune.example"]

    changed = await post_form(
        web, form_url, {**BUILDER, "title": "Preventivo gratuito", "webhook_secret": ""}, page=form_url
    )
    assert changed.status_code == 303
    assert "Preventivo gratuito" in (await web.get(base)).text

    await _submit(app, tenant.id, form_id, "Maria Rossi")
    listing = await web.get(f"{base}/submissions?form={form_id}")
    assert "Maria Rossi" in (await web.get(f"{base}/submissions?form=&status=")).text  # "all"
    assert (await web.get(f"{base}/submissions?form=not-a-form")).status_code == 404
    assert "Maria Rossi" in listing.text
    submission_id = re.search(r'data-submission-id="([0-9a-f-]{36})"', listing.text)
    assert submission_id is not None
    done = await post_form(
        web, f"{base}/submissions/{submission_id.group(1)}/status", {"status": "done"}, page=base
    )
    assert done.status_code == 303
    bad = await post_form(
        web, f"{base}/submissions/{submission_id.group(1)}/status", {"status": "lost"}, page=base
    )
    assert bad.status_code == 422
    exported = await web.get(f"{base}/submissions/export?form={form_id}")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["form"], r["status"], r["nome"]) for r in rows] == [("preventivi", "done", "Maria Rossi")]

    # another tenant: its pages do not know this form or submission
    assert (await web.get(f"/admin/t/comune-b/forms/{form_id}")).status_code == 404
    assert (await web.get("/admin/t/comune-b/forms/submissions")).status_code == 404

    # a viewer sees the forms and the submissions, and every change is refused on the server
    await web.post("/admin/logout", data={"csrf_token": csrf_in((await web.get(base)).text)})
    await _as(web, viewer)
    assert "Maria Rossi" in (await web.get(f"{base}/submissions")).text
    assert (await web.get(f"{base}/new")).status_code == 403
    for path, data in [
        (base, {**BUILDER, "name": "furtivo"}),
        (form_url, BUILDER),
        (f"{form_url}/delete", {}),
        (f"{base}/submissions/{submission_id.group(1)}/status", {"status": "spam"}),
    ]:
        assert (await post_form(web, path, data, page=base)).status_code == 403, path
    missing_csrf = await web.post(f"{form_url}/delete")
    assert missing_csrf.status_code == 403


async def _as(web: httpx.AsyncClient, account: Account) -> None:
    web.cookies.clear()
    await log_in(web, account)


async def test_transcripts_search_open_export_and_an_admin_erases_a_visitor_an_analyst_cannot(
    web: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    await make_platform_admin(app)
    tenant = await make_tenant(web, slug="comune-a")
    await make_tenant(web, slug="comune-b")
    await seed(app.state.database, database_url, tenant.id)
    analyst = await make_member(app, tenant.id, "analyst@example.com", Role.ANALYST)
    owner = await make_member(app, tenant.id, "owner@example.com", Role.ADMIN)
    await log_in(web, analyst)
    base = "/admin/t/comune-a/transcripts"

    listing = await web.get(base)
    assert listing.status_code == 200
    for external_id in ("c1", "c2", "c3", "old"):
        assert f"?id={external_id}" in listing.text
    assert 'id="erase-visitor"' not in listing.text  # an analyst is offered no erasure
    negative = await web.get(f"{base}?feedback=negative&handoff=yes")
    assert "?id=c2" in negative.text
    assert "?id=c1" not in negative.text
    assert "?id=c3" not in (await web.get(f"{base}?q=sindaco")).text
    assert (await web.get(f"{base}?outcome=nonsense")).status_code == 404

    opened = await web.get(f"{base}/conversation?id=c2")
    assert opened.status_code == 200
    assert "Chi è il sindaco?" in opened.text
    assert 'data-rating="-1"' in opened.text
    assert "Non utile" in opened.text
    assert 'data-outcome="dont_know"' in opened.text
    c1 = await web.get(f"{base}/conversation?id=c1")
    assert 'href="https://comune.example/orari"' in c1.text
    assert "trace-100" in c1.text
    assert (await web.get(f"{base}/conversation?id=nobody")).status_code == 404

    exported = await web.get(f"{base}/export?end_user=v2&format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["conversation_id"] for r in rows} == {"c2"}
    assert (await web.get(f"{base}/export?format=json")).json()[0]["messages"]

    assert (
        await post_form(
            web, f"{base}/erase", {"visitor_id": "v2", "visitor_id_again": "v2", "confirm": "on"}, page=base
        )
    ).status_code == 403
    # another tenant's transcripts are not there for this analyst
    assert (await web.get("/admin/t/comune-b/transcripts")).status_code == 404
    assert (await web.get("/admin/t/comune-b/transcripts/conversation?id=c2")).status_code == 404

    await _as(web, owner)
    page = await web.get(base)
    assert 'id="erase-visitor"' in page.text
    unconfirmed = await post_form(
        web, f"{base}/erase", {"visitor_id": "v2", "visitor_id_again": "v1"}, page=base
    )
    assert unconfirmed.status_code == 422
    assert "?id=c2" in (await web.get(base)).text
    erased = await post_form(
        web, f"{base}/erase", {"visitor_id": "v2", "visitor_id_again": "v2", "confirm": "on"}, page=base
    )
    assert erased.status_code == 303
    after = await web.get(erased.headers["location"])
    assert "Dati del visitatore cancellati." in after.text
    assert "?id=c2" not in after.text
    assert "?id=c1" in after.text
    assert (await web.get(f"{base}/conversation?id=c2")).status_code == 404


# -- end to end, in Chromium --------------------------------------------------------------------------


@dataclass
class DeskSite:
    platform: Platform
    host: Host
    inbox: Inbox
    hooks: Hooks
    slug: str
    widget_key: str


@pytest.fixture
async def desk_site(tmp_path: Path, database_url: str) -> AsyncIterator[DeskSite]:
    """The platform served for real with its mail going to a local SMTP server, a CRM receiving
    webhooks, a website on another origin embedding the widget, and a platform admin."""
    database = await Database.open(make_settings(tmp_path / "setup", database_url))
    try:
        async with database.transaction() as session:
            await admin_service.create_platform_admin(session, ROOT, "Root", PASSWORD)
    finally:
        await database.close()
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    platforms = Platforms(tmp_path, database_url)
    try:
        with hook_server() as hooks:
            platform = await platforms.start(
                MAIL_MAILER="smtp",
                MAIL_HOST="127.0.0.1",
                MAIL_PORT=str(port),
                MAIL_ENCRYPTION="none",
                MAIL_FROM_ADDRESS="desk@platform.example",
                FETCH_ALLOW_PRIVATE_NETWORKS="true",
                WIDGET_CACHE_TTL="0",
                WIDGET_RATE_LIMIT="1000",
            )
            with host_site(platform.url) as host:
                tenant = await platform.tenant(slug="comune-e2e", default_language="it")
                configured = await platform.http.patch(
                    "/api/v1/widget/config",
                    json={"allowed_origins": [host.origin("localhost")]},
                    headers=tenant.headers,
                )
                assert configured.status_code == 200, configured.text
                issued = await platform.http.post(
                    "/api/v1/widget/keys", json={"name": "site"}, headers=tenant.headers
                )
                assert issued.status_code == 201, issued.text
                yield DeskSite(platform, host, inbox, hooks, tenant.slug, str(issued.json()["key"]))
    finally:
        await platforms.aclose()
        smtp.stop()


async def shot(page: Page, name: str) -> None:
    await screenshot(page, f"admin-{name}")


async def test_a_form_built_in_the_admin_ui_is_filled_in_the_widget_and_lands_everywhere(
    desk_site: DeskSite, browser: Browser
) -> None:
    site = desk_site
    base = f"{site.platform.url}/admin/t/{site.slug}"
    admin_context = await browser.new_context(locale="it-IT")
    visitor_context = await browser.new_context(locale="it-IT")
    try:
        admin = await admin_context.new_page()
        admin.on("dialog", lambda dialog: dialog.accept())
        await admin.goto(f"{base}/forms")
        await admin.get_by_label("E-mail").fill(ROOT)
        await admin.get_by_label("Password").fill(PASSWORD)
        await admin.get_by_role("button", name="Accedi").click()
        await expect(admin.get_by_role("heading", name="Moduli")).to_be_visible()

        # the builder, by keyboard where it matters: fields, a keyword trigger, e-mails and the CRM
        await admin.locator("#new-form").click()
        await admin.locator("#fm-name").fill("preventivi")
        await admin.locator("#fm-title").fill("Chiedi un preventivo")
        await admin.locator("#fm-min-fill").fill("0")
        await admin.locator("#f0_name").fill("nome")
        await admin.locator("#f0_label").fill("Nome")
        await admin.locator("#f0_required").check()
        await admin.locator("#f1_name").fill("email")
        await admin.locator("#f1_label").fill("E-mail")
        await admin.locator("#f1_type").focus()
        await admin.keyboard.press("ArrowDown")  # text -> email
        await admin.locator("#f1_required").press("Space")
        await admin.locator("#fm-keywords").fill("preventivo, prezzo")
        await admin.locator("#fm-notify").fill("vendite@comune.example")
        await admin.locator("#fm-body").fill("Ciao {nome}, ti ricontattiamo presto.")
        await admin.locator("#fm-webhook").fill(f"{site.hooks.url}/crm")
        await admin.get_by_role("button", name="Crea").click()
        await expect(admin.get_by_text("Salvato.")).to_be_visible()
        await expect(admin.locator("#f1_type")).to_have_value("email")
        await expect(admin.locator("#f1_required")).to_be_checked()
        await shot(admin, "form-builder")

        # the visitor, on the website: the keyword shows the form, which is sent; a rating too
        visitor = await visitor_context.new_page()
        await visitor.goto(site.host.page(site.slug, site.widget_key))
        await visitor.locator(f"{W} button.l").click()
        await visitor.locator(f"{W} textarea").fill("Vorrei un preventivo per la mensa")
        await visitor.locator(f"{W} textarea").press("Enter")
        answer = visitor.locator(f"{W} .m.a").filter(has=visitor.locator(".fb")).first
        await expect(answer).to_be_visible(timeout=20_000)
        up = answer.locator(".fb button[data-rating='1']")
        await up.click()
        await expect(up).to_have_attribute("aria-pressed", "true")
        shown = visitor.locator(f"{W} form.fm")
        await expect(shown).to_contain_text("Chiedi un preventivo")
        await shown.get_by_label("Nome *").fill("Maria Rossi")
        await shown.get_by_label("E-mail *").fill("maria@example.org")
        await shown.get_by_role("button", name="Invia").click()
        await expect(visitor.locator(f"{W} .nt").last).to_have_text("Grazie, abbiamo ricevuto i tuoi dati.")

        confirmation = (await site.inbox.wait_for("maria@example.org"))[0]
        assert "Ciao Maria Rossi, ti ricontattiamo presto." in confirmation.get_content()
        notification = (await site.inbox.wait_for("vendite@comune.example"))[0]
        assert "Nome: Maria Rossi" in notification.get_content()
        hook = await site.hooks.wait_for("/crm")
        assert b"Maria Rossi" in hook.body

        # the operator's view: the submission, its status; the rating in the analytics
        await admin.goto(f"{base}/forms/submissions")
        row = admin.locator("#submissions tbody tr").first
        await expect(row).to_contain_text("Maria Rossi")
        await row.locator("select[name=status]").select_option("done")
        await row.get_by_role("button", name="Salva").click()
        await expect(admin.get_by_text("Salvato.")).to_be_visible()
        await expect(admin.locator("#submissions tbody tr").first.locator("select")).to_have_value("done")
        await shot(admin, "submissions")

        await admin.get_by_role("navigation", name="Menu").get_by_role("link", name="Statistiche").click()
        await expect(admin.locator('[data-tile="feedback_positive"]')).to_have_text("1")
        await expect(admin.locator('[data-tile="questions"]')).to_have_text("1")
        await expect(admin.locator("#chart-feedback rect[data-bar]")).to_have_count(1)
        await shot(admin, "analytics")

        await admin.get_by_role("navigation", name="Menu").get_by_role("link", name="Conversazioni").click()
        await admin.locator("#transcripts tbody a").first.click()
        await expect(admin.locator("#transcript")).to_contain_text("Vorrei un preventivo per la mensa")
        await expect(admin.locator('#transcript [data-rating="1"]')).to_be_visible()
        await shot(admin, "transcript")
    finally:
        await visitor_context.close()
        await admin_context.close()
