"""The operator console of the admin UI.

End to end in Chromium: a visitor on a website of another origin asks the widget for a person; an
operator signed in to the admin UI in another browser context sees the request arrive in the live
queue, reads the bot's earlier answer with its citation, takes over and replies (the visitor sees
it live), then releases and the bot answers the visitor again. Over HTTP: who may act, CSRF, canned
replies, and that another tenant's conversation is a plain 404.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, expect

from chatbot_platform.admin.i18n import MESSAGES
from chatbot_platform.desk import handoff
from chatbot_platform.kit.db import Database
from chatbot_platform.models import HandoffStatus, Role
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.schemas import UserCreate
from tests.admin.helpers import PASSWORD, csrf_in, database_of, log_in, make_member, post_form
from tests.chat.served import Platform, Platforms, grounded_reply
from tests.factories import TenantWithKey, make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI
from tests.retrieval.corpora import ITALIAN, index_corpus
from tests.widget.conftest import issue_widget_key
from tests.widget.hosts import Host, host_site

W = "#chatbot-platform-widget"
OPERATOR_EMAIL = "giulia@example.com"
GREETING = "Buongiorno, sono Giulia <b>qui</b>: come posso aiutarla?"
QUESTION = "Quanto costa la carta d'identità elettronica?"


async def add_user(database_url: str, tmp_path: Path, tenant_id: str, email: str, role: Role) -> None:
    """A member made through the service, on a connection of the test's own event loop."""
    database = await Database.open(make_settings(tmp_path / "users", database_url))
    try:
        async with database.transaction() as session:
            data = UserCreate(email=email, name=email.split("@")[0], role=role, password=PASSWORD)
            await tenants.add_user(session, uuid.UUID(tenant_id), data)
    finally:
        await database.close()


@pytest.fixture
async def served(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[Platform, Host, TenantWithKey, str]]:
    platforms = Platforms(tmp_path, database_url)
    try:
        with FakeOpenAI(reply=grounded_reply) as fake:
            platform = await platforms.start(
                fake=fake, WIDGET_CACHE_TTL="0", WIDGET_RATE_LIMIT="10000", LOG_LEVEL="warning"
            )
            with host_site(platform.url) as host:
                tenant = await platform.tenant(default_language="it", slug="comune")
                await index_corpus(platform.http, tenant, {"anagrafe": ITALIAN["anagrafe"]})
                key = await issue_widget_key(platform, tenant)
                configured = await platform.http.patch(
                    "/api/v1/widget/config",
                    json={"allowed_origins": [host.origin("localhost")]},
                    headers=tenant.headers,
                )
                assert configured.status_code == 200, configured.text
                await add_user(database_url, tmp_path, tenant.id, OPERATOR_EMAIL, Role.OPERATOR)
                yield platform, host, tenant, key
    finally:
        await platforms.aclose()


async def sign_in(page: Page, url: str, email: str) -> None:
    await page.goto(f"{url}/admin/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Accedi").click()
    await expect(page).not_to_have_url(re.compile(r"/login"))


async def test_an_operator_takes_over_replies_live_and_gives_the_visitor_back_to_the_bot(
    served: tuple[Platform, Host, TenantWithKey, str], browser: Browser
) -> None:
    platform, host, tenant, key = served
    visitor_context: BrowserContext = await browser.new_context(locale="it-IT")
    operator_context: BrowserContext = await browser.new_context(locale="it-IT")
    problems: list[str] = []
    try:
        console = await operator_context.new_page()
        console.on("pageerror", lambda error: problems.append(str(error)))
        await sign_in(console, platform.url, OPERATOR_EMAIL)
        await console.goto(f"{platform.url}/admin/t/comune/desk")
        await expect(console.get_by_role("heading", name="Console operatore", level=1)).to_be_visible()
        await console.get_by_role("button", name="Sono disponibile").click()
        await console.get_by_label("Titolo").fill("Saluto")
        await console.get_by_label("Scorciatoia (facoltativa)").fill("ciao")
        await console.get_by_label("Testo", exact=True).fill(GREETING)
        await console.get_by_role("button", name="Crea").click()
        await expect(console.locator("[data-canned]")).to_contain_text("Saluto")
        await expect(console.get_by_text("Sei disponibile.")).to_be_visible()

        visitor = await visitor_context.new_page()
        visitor.on("pageerror", lambda error: problems.append(str(error)))
        await visitor.goto(host.page(tenant.slug, key))
        widget = visitor.locator(W)
        await widget.locator("button.l").click()
        await widget.locator("textarea").fill(QUESTION)
        await widget.locator("textarea").press("Enter")
        await expect(widget.locator(".m.a .fb")).to_have_count(1, timeout=20_000)
        await widget.locator("button[aria-label='Parla con una persona']").click()

        # The request appears in the operator's queue without reloading the page.
        queued = console.locator("[data-queue] li").filter(has_text="in coda")
        await expect(queued).to_have_count(1, timeout=10_000)
        await queued.get_by_role("link").click()
        messages = console.locator("[data-messages]")
        await expect(messages.locator(".msg-user").first).to_contain_text(QUESTION)
        await expect(messages.locator(".msg-assistant .citations li").first).to_contain_text("Carta d")
        await console.get_by_role("button", name="Prendi in carico").click()
        await expect(widget.locator(".nt")).to_have_count(2)  # "giulia is with you", live

        await console.get_by_label("Risposta", exact=True).fill("")
        await console.get_by_label("Inserisci una risposta pronta").select_option(label="Saluto (/ciao)")
        await console.get_by_role("button", name="Inserisci", exact=True).click()
        await expect(console.get_by_label("Risposta", exact=True)).to_have_value(GREETING)
        await expect(console.get_by_label("Risposta", exact=True)).to_be_focused()
        await console.keyboard.press("Tab")  # keyboard only: to the send button
        await console.keyboard.press("Enter")
        await expect(widget.locator(".m.o")).to_contain_text("come posso aiutarla?")
        await expect(console.locator("[data-messages] .msg-operator")).to_have_text(re.compile("<b>qui</b>"))

        # The visitor's message reaches the console live; the bot stays silent.
        await widget.locator("textarea").fill("Vorrei un appuntamento")
        await widget.locator("textarea").press("Enter")
        await expect(messages.locator(".msg-user").last).to_contain_text("Vorrei un appuntamento")
        await expect(widget.locator(".m.a .fb")).to_have_count(1)

        await console.get_by_role("button", name="Restituisci al bot").click()
        await expect(console.get_by_text("Conversazione restituita al bot.")).to_be_visible()
        await expect(widget.locator(".nt")).to_have_count(3)
        await widget.locator("textarea").fill(QUESTION)
        await widget.locator("textarea").press("Enter")
        await expect(widget.locator(".m.a .fb")).to_have_count(2, timeout=20_000)  # the bot again
        assert problems == []
    finally:
        await visitor_context.close()
        await operator_context.close()


async def _open_handoff(app: FastAPI, tenant_id: str) -> str:
    async with database_of(app).transaction() as session:
        await handoff.heartbeat(session, uuid.UUID(tenant_id), "someone")
        outcome = await handoff.request(
            session, uuid.UUID(tenant_id), "conv-1", visitor_id="v1", reason="visitor_request"
        )
    return str(outcome.handoff.id)


async def test_only_operators_act_and_other_tenants_get_404(
    app: FastAPI, client: httpx.AsyncClient, web: httpx.AsyncClient
) -> None:
    first = await make_tenant(client, slug="primo")
    second = await make_tenant(client, slug="secondo")
    handoff_id = await _open_handoff(app, first.id)
    base = "/admin/t/primo/desk"

    await log_in(web, await make_member(app, first.id, "viewer@example.com", Role.VIEWER))
    page = await web.get(f"{base}/{handoff_id}")
    assert page.status_code == 200
    assert "conv-1" in page.text
    assert "Prendi in carico" not in page.text
    for action in ("take", "reply", "release", "close"):
        refused = await post_form(web, f"{base}/{handoff_id}/{action}", {"text": "ciao"}, page=base)
        assert refused.status_code == 403, action
    assert (await post_form(web, f"{base}/canned", {"title": "x", "body": "y"}, page=base)).status_code == 403
    assert (await post_form(web, f"{base}/presence", page=base)).status_code == 403

    web.cookies.clear()
    await log_in(web, await make_member(app, first.id, "op@example.com", Role.OPERATOR))
    no_token = await web.post(f"{base}/{handoff_id}/take", data={})
    assert no_token.status_code == 403  # CSRF
    taken = await post_form(web, f"{base}/{handoff_id}/take", page=base)
    assert taken.status_code == 303
    sent = await post_form(web, f"{base}/{handoff_id}/reply", {"text": "<script>x</script>"}, page=base)
    assert sent.status_code == 303
    live = (await web.get(f"{base}/live.json", params={"handoff_id": handoff_id})).json()
    assert live["current"]["status"] == "active"
    assert live["current"]["operator"] == "op"
    assert live["messages"][-1] == {
        **live["messages"][-1],
        "role": "operator",
        "content": "<script>x</script>",
    }
    shown = (await web.get(f"{base}/{handoff_id}")).text
    assert "&lt;script&gt;x&lt;/script&gt;" in shown
    assert "<script>x</script>" not in shown
    assert (await post_form(web, f"{base}/{handoff_id}/reply", {"text": ""}, page=base)).status_code == 422
    assert (
        await post_form(web, f"{base}/{handoff_id}/priority", {"priority": "11"}, page=base)
    ).status_code == 422
    raised = await post_form(web, f"{base}/{handoff_id}/priority", {"priority": "7"}, page=base)
    assert raised.status_code == 303
    queue = (await web.get(f"{base}/live.json")).json()["queue"]
    assert [(q["id"], q["priority"]) for q in queue] == [(handoff_id, 7)]

    chosen = await post_form(web, "/admin/locale", {"locale": "en", "next": base}, page=base)
    assert chosen.status_code == 303
    english = (await web.get(f"{base}/{handoff_id}")).text
    assert "Operator console" in english
    assert "Release to the bot" in english
    away = await post_form(web, f"{base}/presence", {"state": "away"}, page=base)
    assert away.status_code == 303
    assert "You are away." in (await web.get(base)).text
    token = csrf_in((await web.get(base)).text)
    beat = await web.post(
        f"{base}/presence",
        data={"state": "available"},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert beat.status_code == 204  # desk.js's heartbeat
    assert "You are available." in (await web.get(base)).text
    created = await post_form(web, f"{base}/canned", {"title": "Saluto", "body": "Buongiorno!"}, page=base)
    assert created.status_code == 303
    console = (await web.get(base)).text
    assert "Canned replies" in console
    canned_id = re.search(r'data-canned="([0-9a-f-]{36})"', console)
    assert canned_id is not None
    assert "Buongiorno!" in console
    deleted = await post_form(web, f"{base}/canned/{canned_id.group(1)}/delete", page=base)
    assert deleted.status_code == 303
    assert "Buongiorno!" not in (await web.get(base)).text
    assert (await post_form(web, f"{base}/{handoff_id}/release", page=base)).status_code == 303

    web.cookies.clear()
    await log_in(web, await make_member(app, second.id, "b@example.com", Role.OWNER))
    other = "/admin/t/secondo/desk"
    assert (await web.get(f"{other}/{handoff_id}")).status_code == 404
    assert (await web.get(f"{other}/live.json", params={"handoff_id": handoff_id})).status_code == 404
    assert (await post_form(web, f"{other}/{handoff_id}/close", page=other)).status_code == 404
    assert "conv-1" not in (await web.get(other)).text
    assert (await web.get(f"{base}/{handoff_id}")).status_code == 404  # not a member of the first


def test_every_handoff_status_and_message_role_has_both_languages() -> None:
    keys = [f"desk.status.{s.value}" for s in HandoffStatus]
    keys += [f"desk.role.{r}" for r in ("user", "assistant", "operator", "notice", "system")]
    assert [k for k in keys if k not in MESSAGES] == []
