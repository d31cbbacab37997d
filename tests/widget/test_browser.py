"""The widget in Debian's Chromium, embedded by a website on another origin under a strict CSP, the
upstream model being the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from tests.widget.conftest import QUESTION, QUICK_REPLY, Site
from tests.widget.hosts import SOURCE_TITLE

AXE = Path(__file__).resolve().parents[1] / "fixtures" / "axe" / "axe.min.js"
W = "#chatbot-platform-widget"


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(locale="it-IT")
    yield ctx
    await ctx.close()


async def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(url)
    return page, problems


def part(page: Page, selector: str) -> Locator:
    return page.locator(f"{W} {selector}")


async def ask(page: Page, question: str) -> Locator:
    """Type the question, press Enter, and wait for the answer's feedback buttons (the end of the stream)."""
    answers_before = await part(page, ".m.a .fb").count()
    await part(page, "textarea").fill(question)
    await part(page, "textarea").press("Enter")
    answer = part(page, ".m.a").filter(has=page.locator(".fb")).nth(answers_before)
    await expect(answer).to_be_visible(timeout=20000)
    return answer


async def test_ask_stream_cite_feedback_reload_and_start_over(site: Site, context: BrowserContext) -> None:
    page, problems = await open_page(context, site.page())
    launcher = part(page, "button.l")
    await expect(launcher).to_be_visible()
    # The stylesheet applied although the page forbids every style source: constructed stylesheets.
    assert await launcher.evaluate("b => getComputedStyle(b).position") == "fixed"
    await launcher.click()
    panel = part(page, "[role=dialog]")
    await expect(panel).to_be_visible()
    await expect(part(page, "textarea")).to_be_focused()
    await expect(part(page, ".m.a").first).to_contain_text("Chiedimi dei servizi del Comune")
    await expect(part(page, ".qr button")).to_have_text(QUICK_REPLY)

    await page.evaluate(
        """() => { window.__lengths = [];
        const root = document.querySelector('#chatbot-platform-widget').shadowRoot;
        new MutationObserver(() => { const b = root.querySelectorAll('.m.a .b'); const last = b[b.length - 1];
        if (last) window.__lengths.push(last.textContent.length); })
        .observe(root, {subtree: true, childList: true, characterData: true}); }"""
    )
    answer = await ask(page, QUESTION)
    await expect(answer.locator(".b")).to_contain_text("la risposta è questa")
    lengths = await page.evaluate("window.__lengths")
    assert len(set(lengths)) > 3, lengths  # the answer grew piece by piece
    source = answer.locator(".sc a")
    await expect(source).to_contain_text(SOURCE_TITLE)
    assert await source.get_attribute("rel") == "noopener noreferrer"
    async with context.expect_page() as opened:
        await answer.locator(".b sup a").first.click()
    source_page = await opened.value
    await source_page.wait_for_load_state()
    assert source_page.url.endswith("/source/anagrafe")
    await source_page.close()

    feedback_url, headers = "/api/v1/widget/feedback", site.tenant.headers
    before = (await site.platform.http.get(feedback_url, headers=headers)).json()["total"]
    up = answer.locator(".fb button[data-rating='1']")
    await up.click()
    await expect(up).to_have_attribute("aria-pressed", "true")
    feedback = (await site.platform.http.get(feedback_url, headers=headers)).json()
    assert feedback["total"] == before + 1
    assert feedback["items"][0]["rating"] == 1

    await page.reload()
    await part(page, "button.l").click()
    restored = part(page, ".m.a").filter(has=page.locator(".fb"))
    await expect(restored).to_have_count(1)
    await expect(part(page, ".m.u")).to_have_text([f"Tu: {QUESTION}"])
    await expect(restored.locator(".fb button[data-rating='1']")).to_have_attribute("aria-pressed", "true")

    await part(page, "button[aria-label='Nuova conversazione']").click()
    await expect(part(page, ".m.u")).to_have_count(0)
    await expect(part(page, ".m.a")).to_have_count(1)  # the welcome message
    await page.reload()
    await part(page, "button.l").click()
    await expect(part(page, ".m.a")).to_contain_text(["Chiedimi dei servizi del Comune"])
    await expect(part(page, ".m.u")).to_have_count(0)
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert problems == []


async def shadow_focus(page: Page) -> str:
    """What has the keyboard focus inside the widget: `tag.class|aria-label`."""
    return str(
        await page.evaluate(
            """() => { const a = document.querySelector('#chatbot-platform-widget').shadowRoot.activeElement;
            if (!a) return ''; const label = a.getAttribute('aria-label') || '';
            return a.tagName.toLowerCase() + '.' + a.className + '|' + label; }"""
        )
    )


async def test_keyboard_only_use_and_the_javascript_api(site: Site, context: BrowserContext) -> None:
    page, _ = await open_page(context, site.page())
    await expect(part(page, "button.l")).to_be_visible()
    await page.evaluate(
        """() => { window.__events = [];
        for (const e of ['open', 'close', 'answer']) ChatbotPlatform.on(e, () => __events.push(e)); }"""
    )
    for _ in range(5):  # the page's own link, then the widget's launcher
        await page.keyboard.press("Tab")
        if (await shadow_focus(page)).startswith("button.l|"):
            break
    assert (await shadow_focus(page)).startswith("button.l|")
    await page.keyboard.press("Enter")
    await expect(part(page, "[role=dialog]")).to_be_visible()
    assert await shadow_focus(page) == "textarea.|"
    await page.keyboard.type(QUESTION)
    await page.keyboard.press("Enter")
    answer = part(page, ".m.a").filter(has=page.locator(".fb"))
    await expect(answer).to_have_count(1, timeout=20000)
    # The finished answer is announced by the live region.
    await expect(part(page, "[aria-live=polite]")).to_contain_text("la risposta è questa")
    await page.keyboard.press("Shift+Tab")  # back from the input to the quick replies / feedback buttons
    seen = set()
    for _ in range(12):
        seen.add((await shadow_focus(page)).partition("|")[2])
        await page.keyboard.press("Shift+Tab")
    assert {"Risposta utile", "Risposta non utile", "Nuova conversazione", "Chiudi la chat"} <= seen, seen
    await page.keyboard.press("Escape")
    await expect(part(page, "[role=dialog]")).to_be_hidden()
    assert (await shadow_focus(page)).startswith("button.l|")  # focus returns to the launcher
    await page.evaluate("() => ChatbotPlatform.send('Come si paga la TARI?')")
    await expect(part(page, ".m.a").filter(has=page.locator(".fb"))).to_have_count(2, timeout=20000)
    await page.evaluate("() => ChatbotPlatform.close()")
    assert await page.evaluate("window.__events") == ["open", "answer", "close", "open", "answer", "close"]


async def test_a_hostile_answer_is_rendered_inert(site: Site, context: BrowserContext) -> None:
    site.replies.override = (
        'Ecco <script>window.__pwned = 1</script> e <img src=x onerror="window.__pwned = 2"> '
        "[clicca](javascript:window.__pwned=3) **grassetto** [sito](https://example.org/pagina) [1]"
    )
    try:
        page, _ = await open_page(context, site.page())
        await part(page, "button.l").click()
        answer = await ask(page, QUESTION)
    finally:
        site.replies.override = None
    body = answer.locator(".b")
    await expect(body).to_contain_text("<script>window.__pwned = 1</script>")
    assert await body.locator("script, img, iframe").count() == 0
    hrefs = await body.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert "https://example.org/pagina" in hrefs
    await expect(body.locator("strong")).to_have_text("grassetto")
    await body.get_by_text("clicca").click()  # plain text, not a link
    assert await page.evaluate("window.__pwned") is None


async def test_a_disallowed_origin_is_refused(site: Site, context: BrowserContext) -> None:
    elsewhere = site.host.page(site.tenant.slug, site.widget_key, hostname="127.0.0.1")  # not allowed
    page = await context.new_page()
    async with page.expect_console_message(lambda m: "[chatbot] widget not available" in m.text):
        await page.goto(elsewhere)
    assert await page.locator(W).count() == 0
    assert await page.evaluate("window.ChatbotPlatform.ready") is False
    direct = await site.platform.http.get(
        f"/api/v1/widget/{site.tenant.slug}/config",
        params={"key": site.widget_key},
        headers={"Origin": site.host.origin("127.0.0.1")},
    )
    assert direct.status_code == 403
    assert direct.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in direct.headers


async def test_the_rate_limited_state_is_shown(site: Site, context: BrowserContext) -> None:
    limited = await site.platforms.start(fake=site.fake, WIDGET_RATE_LIMIT="3", WIDGET_CACHE_TTL="0")
    page, _ = await open_page(context, site.page(platform=limited.url))
    await part(page, "button.l").click()
    status = part(page, "[role=status]")
    settled = """(before) => { const root = document.querySelector('#chatbot-platform-widget').shadowRoot;
        return root.querySelectorAll('.m.a .fb').length > before
            || !!root.querySelector('.st[data-state=rate_limited]'); }"""
    for n in range(6):  # 3 requests a minute from this address: session start, events, questions
        before = await part(page, ".m.a .fb").count()
        await part(page, "textarea").fill(f"Domanda {n}: quanto costa la carta d'identità?")
        await part(page, "textarea").press("Enter")
        await page.wait_for_function(settled, arg=before, timeout=20000)
        if await status.get_attribute("data-state") == "rate_limited":
            break
    await expect(status).to_contain_text("Troppe richieste")
    await expect(status).to_have_attribute("data-state", "rate_limited")
    await expect(part(page, "form button")).to_be_disabled()


async def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page (the widget's shadow root included)."""
    await page.evaluate(
        AXE.read_text() + "\n;0"
    )  # through the debugger protocol: the page's CSP allows no inline script
    found: list[dict[str, object]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
    )
    return found


async def set_theme(site: Site, **theme: object) -> None:
    body = {
        "theme": {
            "title": "Comune di Esempio",
            "welcome_message": {"it": "Ciao! Chiedimi dei servizi del Comune.", "en": "Hi!"},
            "quick_replies": [QUICK_REPLY],
            **theme,
        }
    }
    response = await site.platform.http.patch("/api/v1/widget/config", json=body, headers=site.tenant.headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "theme",
    [{}, {"dark_mode": "dark", "high_contrast": True}, {"dark_mode": "dark", "position": "bottom-left"}],
    ids=["default", "dark-high-contrast", "dark"],
)
async def test_the_open_widget_has_no_serious_accessibility_violations(
    site: Site, context: BrowserContext, theme: dict[str, object]
) -> None:
    await set_theme(site, **theme)
    try:
        page, _ = await open_page(context, site.page())
        await part(page, "button.l").click()
        await ask(page, QUESTION)
        assert await axe_violations(page) == []
    finally:
        await set_theme(site)


async def test_full_screen_on_a_phone_in_english_without_motion(site: Site, browser: Browser) -> None:
    phone = await browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, locale="en-GB")
    try:
        page, problems = await open_page(phone, site.page(locale="en"))
        await page.emulate_media(reduced_motion="reduce")
        await part(page, "button.l").click()
        panel = part(page, "[role=dialog]")
        assert await panel.evaluate("p => getComputedStyle(p).animationName") == "none"  # no motion
        box = await panel.bounding_box()
        assert box is not None
        assert {k: round(v) for k, v in box.items()} == {"x": 0, "y": 0, "width": 375, "height": 667}
        await expect(part(page, ".hd button[aria-label='Close chat']")).to_be_visible()
        await expect(part(page, "button.l")).to_be_hidden()  # the panel covers the screen
        await expect(part(page, "textarea")).to_have_attribute("placeholder", "Type a question…")
        await expect(part(page, ".m.a").first).to_have_text("Assistant: Hi!")
        assert problems == []
    finally:
        await phone.close()


async def test_the_preview_page_shows_the_tenants_widget(site: Site, context: BrowserContext) -> None:
    url = f"{site.platform.url}/widget/preview/{site.tenant.slug}?key={site.widget_key}"
    page, problems = await open_page(context, url)
    await expect(page.locator("code")).to_contain_text(f'data-tenant="{site.tenant.slug}"')
    await part(page, "button.l").click()
    answer = await ask(page, QUESTION)
    await expect(answer.locator(".sc a")).to_contain_text(SOURCE_TITLE)
    assert problems == []


async def test_offline_and_maintenance_states_are_shown(site: Site, context: BrowserContext) -> None:
    page, _ = await open_page(context, site.page())
    await part(page, "button.l").click()
    status = part(page, "[role=status]")
    await context.set_offline(True)
    await part(page, "textarea").fill(QUESTION)
    await part(page, "textarea").press("Enter")
    await expect(status).to_have_attribute("data-state", "offline")
    await expect(status).to_contain_text("Sei offline")
    await context.set_offline(False)
    await expect(status).to_be_hidden()
    switch = {"enabled": False}
    await site.platform.http.patch("/api/v1/widget/config", json=switch, headers=site.tenant.headers)
    try:
        await part(page, "textarea").fill(QUESTION)
        await part(page, "textarea").press("Enter")
        await expect(status).to_have_attribute("data-state", "maintenance")
        await expect(status).to_contain_text("manutenzione")
    finally:
        switch = {"enabled": True}
        await site.platform.http.patch("/api/v1/widget/config", json=switch, headers=site.tenant.headers)
    answer = await ask(page, QUESTION)  # and it recovers
    await expect(answer.locator(".b")).to_contain_text("la risposta è questa")
    await expect(status).to_be_hidden()


async def test_theme_custom_css_quick_replies_and_the_error_state(
    site: Site, context: BrowserContext
) -> None:
    await set_theme(
        site,
        primary_color="#7a1f5c",
        position="bottom-left",
        size="large",
        logo_url=f"{site.platform.url}/widget/logo.png",
        custom_css=".l { border-radius: 3px }",
    )
    try:
        page, _ = await open_page(context, site.page())
        launcher = part(page, "button.l")
        await expect(launcher).to_be_visible()
        style = await launcher.evaluate(
            "b => { const s = getComputedStyle(b); return [s.borderRadius, s.backgroundColor, s.left]; }"
        )
        assert style == ["3px", "rgb(122, 31, 92)", "20px"]
        await launcher.click()
        panel_width = await part(page, "[role=dialog]").evaluate("p => p.getBoundingClientRect().width")
        assert round(panel_width) == 440
        await expect(part(page, ".hd img")).to_have_attribute("src", f"{site.platform.url}/widget/logo.png")
        await part(page, ".qr button").click()
        await expect(part(page, ".m.u")).to_have_text([f"Tu: {QUICK_REPLY}"])
        await expect(part(page, ".m.a .fb")).to_have_count(1, timeout=20000)
        await expect(part(page, ".qr")).to_be_hidden()
        site.fake.fail_next(
            10, status=400
        )  # every upstream call: the rewrite and embedding fall back, the answer fails
        await part(page, "textarea").fill(QUESTION)
        await part(page, "textarea").press("Enter")
        status = part(page, "[role=status]")
        await expect(status).to_have_attribute("data-state", "error", timeout=20000)
        await expect(status).to_contain_text("Qualcosa è andato storto")
    finally:
        site.fake.reset()
        await set_theme(site)


async def test_a_zero_lifetime_keeps_the_conversation_only_for_the_page(
    site: Site, context: BrowserContext
) -> None:
    http, headers = site.platform.http, site.tenant.headers
    await http.patch("/api/v1/widget/config", json={"conversation_lifetime_hours": 0}, headers=headers)
    try:
        page, _ = await open_page(context, site.page())
        await part(page, "button.l").click()
        await ask(page, QUESTION)
        await ask(page, "Come si paga la TARI?")
        stored = await page.evaluate(f"() => localStorage.getItem('cbp:{site.tenant.slug}')")
        assert "widget-" not in stored  # only the visitor id is kept
        visitor = stored.split('"v":"')[1].split('"')[0]
        listed = (await http.get("/api/v1/conversations", params={"limit": 200}, headers=headers)).json()
        mine = [c for c in listed["items"] if c["end_user"] == visitor]
        assert [c["message_count"] for c in mine] == [4]  # both questions in one conversation
        await page.reload()
        await part(page, "button.l").click()
        await expect(part(page, ".m.a")).to_have_count(1)  # the welcome message only
        await expect(part(page, ".m.u")).to_have_count(0)
    finally:
        await http.patch("/api/v1/widget/config", json={"conversation_lifetime_hours": 24}, headers=headers)


async def test_a_visitor_reaches_a_person_and_sees_the_operator_live(
    site: Site, context: BrowserContext
) -> None:
    http, headers = site.platform.http, site.tenant.headers
    operator = {"operator": "Giulia"}
    assert (
        await http.post("/api/v1/desk/operators/heartbeat", json=operator, headers=headers)
    ).status_code == 204
    page, problems = await open_page(context, site.page())
    await part(page, "button.l").click()
    await part(page, "button[aria-label='Parla con una persona']").click()
    await expect(part(page, ".nt")).to_have_count(1)
    queue = (await http.get("/api/v1/desk/handoffs", params={"status": "queued"}, headers=headers)).json()
    handoff_id = queue["items"][0]["id"]
    taken = await http.post(f"/api/v1/desk/handoffs/{handoff_id}/take", json=operator, headers=headers)
    assert taken.status_code == 200, taken.text
    await expect(part(page, ".nt")).to_have_count(2)  # "Giulia is with you" arrives live
    reply = {**operator, "text": "Buongiorno, sono **Giulia**: come posso aiutarla?"}
    sent = await http.post(f"/api/v1/desk/handoffs/{handoff_id}/reply", json=reply, headers=headers)
    assert sent.status_code == 201, sent.text
    said = part(page, ".m.o")
    await expect(said).to_contain_text("come posso aiutarla?")
    await expect(said.locator("strong")).to_have_text("Giulia")
    # While the operator handles the conversation the bot stays silent.
    await part(page, "textarea").fill("Vorrei rinnovare la carta d'identità")
    await part(page, "textarea").press("Enter")
    await expect(part(page, ".m.u")).to_have_count(1)
    await expect(part(page, "form button")).to_be_enabled()
    await expect(part(page, ".m.a")).to_have_count(1)  # only the welcome message
    closed = await http.post(f"/api/v1/desk/handoffs/{handoff_id}/close", json=operator, headers=headers)
    assert closed.status_code == 200, closed.text
    await expect(part(page, ".nt")).to_have_count(3)
    await page.reload()
    await part(page, "button.l").click()
    await expect(part(page, ".m.o")).to_contain_text("come posso aiutarla?")  # kept in the conversation
    assert problems == []


async def test_a_desk_form_is_shown_checked_and_sent(site: Site, context: BrowserContext) -> None:
    http, headers = site.platform.http, site.tenant.headers
    form = {
        "name": "Preventivi",
        "title": "Chiedi un preventivo",
        "fields": [
            {"name": "nome", "label": "Nome", "type": "text", "required": True},
            {"name": "email", "label": "E-mail", "type": "email", "required": True},
            {"name": "servizio", "label": "Servizio", "type": "select", "options": ["Mensa", "Trasporto"]},
        ],
        "triggers": {"keywords": ["preventivo"]},
        "min_fill_seconds": 0,
    }
    created = await http.post("/api/v1/desk/forms", json=form, headers=headers)
    assert created.status_code == 201, created.text
    try:
        page, problems = await open_page(context, site.page())
        await part(page, "button.l").click()
        await ask(page, "Vorrei un preventivo per la mensa scolastica")
        shown = part(page, "form.fm")
        await expect(shown).to_contain_text("Chiedi un preventivo")
        await shown.get_by_role("button", name="Invia").click()  # empty: the fields' errors
        await expect(shown.get_by_label("E-mail *")).to_have_attribute("aria-invalid", "true")
        await expect(shown.locator("[role=alert]")).to_contain_text("Controlla i campi")
        await shown.get_by_label("Nome *").fill("Maria Rossi")
        await shown.get_by_label("E-mail *").fill("maria@example.org")
        await shown.get_by_label("Servizio").select_option("Mensa")
        await shown.get_by_role("button", name="Invia").click()
        await expect(part(page, ".nt").last).to_have_text("Grazie, abbiamo ricevuto i tuoi dati.")
        stored = (await http.get("/api/v1/desk/submissions", headers=headers)).json()
        assert stored["items"][0]["data"] == {
            "nome": "Maria Rossi",
            "email": "maria@example.org",
            "servizio": "Mensa",
        }
        assert await axe_violations(page) == []
        assert [p for p in problems if "status of 422" not in p] == []  # the refusal above
    finally:
        await http.delete(f"/api/v1/desk/forms/{created.json()['id']}", headers=headers)
