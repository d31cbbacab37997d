"""The widget's HTTP API over real HTTP: publishable keys, configuration, origin checks and CORS,
session tokens, chat, feedback, events, limits, tenant isolation and bad input."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
import httpx

from chatbot_platform.kit.security import sha256_hex
from chatbot_platform.widget import tokens
from tests.fixtures.database import ADMIN_TOKEN
from tests.widget.conftest import QUESTION, Site, issue_widget_key


def origin_of(site: Site) -> dict[str, str]:
    return {"Origin": site.host.origin()}


async def start(
    site: Site, key: str | None = None, *, slug: str | None = None, **body: Any
) -> httpx.Response:
    return await site.platform.http.post(
        f"/api/v1/widget/{slug or site.tenant.slug}/sessions",
        json={"key": key or site.widget_key, **body},
        headers=origin_of(site),
    )


async def token_of(site: Site, **body: Any) -> dict[str, Any]:
    response = await start(site, **body)
    assert response.status_code == 201, response.text
    started: dict[str, Any] = response.json()
    return started


def bearer(site: Site, token: str) -> dict[str, str]:
    return {**origin_of(site), "Authorization": f"Bearer {token}"}


async def chat(site: Site, token: str, message: str = QUESTION) -> list[dict[str, Any]]:
    url = f"/api/v1/widget/{site.tenant.slug}/chat"
    async with site.platform.http.stream(
        "POST", url, json={"message": message}, headers=bearer(site, token)
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["access-control-allow-origin"] == site.host.origin()
        return [json.loads(line[6:]) async for line in response.aiter_lines() if line.startswith("data: ")]


async def test_publishable_keys_are_hashed_shown_once_and_revocable(site: Site) -> None:
    http, headers = site.platform.http, site.tenant.headers
    issued = await http.post("/api/v1/widget/keys", json={"name": "shop"}, headers=headers)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert key.startswith("pk_")
    assert key.startswith(issued.json()["prefix"] + "_")
    listed = (await http.get("/api/v1/widget/keys", headers=headers)).json()
    assert key not in json.dumps(listed)
    connection = await asyncpg.connect(site.database_url)
    try:
        stored = await connection.fetchval(
            "SELECT key_hash FROM widget_keys WHERE tenant_id = $1 AND prefix = $2",
            uuid.UUID(site.tenant.id),
            issued.json()["prefix"],
        )
    finally:
        await connection.close()
    assert stored == sha256_hex(key)
    assert key not in stored
    started = await token_of(site, key=key)
    assert (
        await http.delete(f"/api/v1/widget/keys/{issued.json()['id']}", headers=headers)
    ).status_code == 204
    refused = await start(site, key)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_widget_key"
    # A live session of a revoked key stops at its next call.
    history = await http.get(
        f"/api/v1/widget/{site.tenant.slug}/conversation", headers=bearer(site, started["token"])
    )
    assert history.status_code == 401
    assert (await start(site, key[:-3] + "abc")).status_code == 401  # a wrong secret with a real prefix
    assert (await start(site, site.tenant.key)).status_code == 401  # a secret API key is no widget key


async def test_key_management_needs_the_assistants_scopes(site: Site) -> None:
    reader = await site.platform.tenant(scopes=["assistants:read"])
    assert (await site.platform.http.get("/api/v1/widget/config", headers=reader.headers)).status_code == 200
    refused = await site.platform.http.post("/api/v1/widget/keys", json={}, headers=reader.headers)
    assert refused.status_code == 403
    assert (await site.platform.http.get("/api/v1/widget/keys")).status_code == 401


async def test_configuration_defaults_updates_and_bad_input(site: Site) -> None:
    http = site.platform.http
    tenant = await site.platform.tenant(domain="comune.example.it")
    config = (await http.get("/api/v1/widget/config", headers=tenant.headers)).json()
    assert config["allowed_origins"] == ["https://comune.example.it", "https://*.comune.example.it"]
    assert config["theme"]["primary_color"] == "#0b5cad"
    assert config["conversation_lifetime_hours"] == 24
    for bad in [
        {"allowed_origins": ["comune.example.it/path"]},
        {"theme": {"primary_color": "red; background: url(x)"}},
        {"theme": {"custom_css": "@import url(https://evil.example/x.css);"}},
        {"theme": {"position": "middle"}},
        {"theme": {"logo_url": "javascript:alert(1)"}},
        {"theme": {"quick_replies": ["q"] * 7}},
        {"assistant": "nobody"},
        {"conversation_lifetime_hours": -1},
        {"unknown": True},
    ]:
        response = await http.patch("/api/v1/widget/config", json=bad, headers=tenant.headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["details"], bad
    updated = await http.patch(
        "/api/v1/widget/config",
        json={
            "allowed_origins": ["HTTPS://Shop.Example.com/", "https://*.example.org"],
            "conversation_lifetime_hours": 2,
            "theme": {"dark_mode": "auto", "high_contrast": True, "custom_css": ".b { border-radius: 0 }"},
        },
        headers=tenant.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["allowed_origins"] == ["https://shop.example.com", "https://*.example.org"]
    again = (await http.get("/api/v1/widget/config", headers=tenant.headers)).json()
    assert again["theme"]["high_contrast"] is True
    assert again["conversation_lifetime_hours"] == 2


async def test_origins_are_checked_on_every_call_and_answered_with_cors(site: Site) -> None:
    http = site.platform.http
    tenant = await site.platform.tenant()
    key = await issue_widget_key(site.platform, tenant)
    await http.patch(
        "/api/v1/widget/config",
        json={"allowed_origins": ["https://shop.example.com", "https://*.example.org"]},
        headers=tenant.headers,
    )
    url = f"/api/v1/widget/{tenant.slug}/config"
    for origin, allowed in [
        ("https://shop.example.com", True),
        ("https://www.example.org", True),
        ("https://example.org", False),
        ("http://shop.example.com", False),
        ("https://shop.example.com:8443", False),
        ("https://evil.example.net", False),
        (None, False),
    ]:
        headers = {"Origin": origin} if origin else {}
        response = await http.get(url, params={"key": key}, headers=headers)
        assert response.status_code == (200 if allowed else 403), (origin, response.text)
        assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)
        assert "Origin" in response.headers["vary"]
        preflight = await http.options(
            f"/api/v1/widget/{tenant.slug}/chat",
            headers={**headers, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == (204 if allowed else 403)
        if allowed:
            assert "Authorization" in preflight.headers["access-control-allow-headers"]
    body = (await http.get(url, params={"key": key}, headers={"Origin": "https://shop.example.com"})).json()
    assert body["tenant"] == tenant.slug
    assert body["theme"]["position"] == "bottom-right"
    # The Referer stands in for a missing Origin (same-origin GETs, like the preview page, send none).
    referred = await http.get(url, params={"key": key}, headers={"Referer": "https://www.example.org/page"})
    assert referred.status_code == 200


async def test_session_tokens_expire_are_bound_to_origin_and_cannot_be_forged(site: Site) -> None:
    http = site.platform.http
    started = await token_of(site)
    assert started["expires_at"] - time.time() <= tokens.TOKEN_TTL_SECONDS
    history_url = f"/api/v1/widget/{site.tenant.slug}/conversation"
    ok = await http.get(history_url, headers=bearer(site, started["token"]))
    assert ok.status_code == 200
    assert ok.json()["messages"] == []
    key = tokens.signing_key(ADMIN_TOKEN)  # the test settings have no APP_KEY
    live = tokens.verify(key, started["token"])
    expired = tokens.issue(
        key, tokens.new_session(**_fields(live), now=time.time() - tokens.TOKEN_TTL_SECONDS - 1)
    )
    response = await http.get(history_url, headers=bearer(site, expired))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"
    # The widget can read the error (CORS answered) and start a new session.
    assert response.headers["access-control-allow-origin"] == site.host.origin()
    forged = tokens.issue(tokens.signing_key("guess"), live)
    assert (await http.get(history_url, headers=bearer(site, forged))).status_code == 401
    assert (await http.get(history_url, headers=origin_of(site))).status_code == 401
    # A token stolen from the page does not work from another allowed origin.
    await http.patch(
        "/api/v1/widget/config",
        json={"allowed_origins": [site.host.origin(), "https://other.example.com"]},
        headers=site.tenant.headers,
    )
    try:
        other = {"Origin": "https://other.example.com", "Authorization": f"Bearer {started['token']}"}
        assert (await http.get(history_url, headers=other)).status_code == 401
    finally:
        await http.patch(
            "/api/v1/widget/config",
            json={"allowed_origins": [site.host.origin()]},
            headers=site.tenant.headers,
        )


def _fields(session: tokens.VisitorSession) -> dict[str, Any]:
    return {
        "tenant_id": session.tenant_id,
        "key_id": session.key_id,
        "visitor_id": session.visitor_id,
        "conversation_id": session.conversation_id,
        "origin": session.origin,
    }


async def test_chat_streams_cited_answers_into_a_stored_conversation_with_feedback(site: Site) -> None:
    http = site.platform.http
    started = await token_of(site)
    events = await chat(site, started["token"])
    deltas = [e["text"] for e in events if e["type"] == "delta"]
    assert len(deltas) > 3
    assert "[1]" in "".join(deltas)
    done = events[-1]
    assert done["offer"] is None  # no repeated "I don't know": the desk offers no human
    assert done["type"] == "done"
    assert done["outcome"] == "answered"
    assert done["citations"][0]["url"].endswith("/source/anagrafe")
    history = (
        await http.get(
            f"/api/v1/widget/{site.tenant.slug}/conversation", headers=bearer(site, started["token"])
        )
    ).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert history["messages"][1]["id"] == done["message_id"]
    # Pages get what they show of a source, not the platform's ids and scores.
    assert set(history["messages"][1]["citations"][0]) == {"id", "title", "url", "snippet"}
    assert set(done["citations"][0]) == {"id", "title", "url", "snippet"}
    stored = await http.get(
        f"/api/v1/conversations/{started['conversation_id']}", headers=site.tenant.headers
    )
    assert stored.json()["channel"] == "widget"
    assert stored.json()["end_user"] == started["visitor_id"]

    feedback_url = f"/api/v1/widget/{site.tenant.slug}/feedback"
    for rating in (1, -1):
        given = await http.post(
            feedback_url,
            json={"message_id": done["message_id"], "rating": rating},
            headers=bearer(site, started["token"]),
        )
        assert given.status_code == 201, given.text
    history = (
        await http.get(
            f"/api/v1/widget/{site.tenant.slug}/conversation", headers=bearer(site, started["token"])
        )
    ).json()
    assert history["messages"][1]["feedback"] == -1  # the second vote replaced the first
    question_id = history["messages"][0]["id"]
    for bad in [{"message_id": question_id, "rating": 1}, {"message_id": str(uuid.uuid4()), "rating": 1}]:
        refused = await http.post(feedback_url, json=bad, headers=bearer(site, started["token"]))
        assert refused.status_code == 404
    stranger = await token_of(site)  # another visitor cannot rate this visitor's answers
    refused = await http.post(
        feedback_url,
        json={"message_id": done["message_id"], "rating": 1},
        headers=bearer(site, stranger["token"]),
    )
    assert refused.status_code == 404

    accepted = await http.post(
        f"/api/v1/widget/{site.tenant.slug}/events",
        json={"events": [{"type": "open"}, {"type": "citation_click", "data": {"id": 1}}]},
        headers=bearer(site, started["token"]),
    )
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": 2}


async def test_conversations_resume_only_for_their_visitor_within_their_lifetime(site: Site) -> None:
    first = await token_of(site)
    await chat(site, first["token"])
    resumed = await token_of(site, visitor_id=first["visitor_id"], conversation_id=first["conversation_id"])
    assert resumed["resumed"] is True
    assert resumed["conversation_id"] == first["conversation_id"]
    other = await token_of(site, conversation_id=first["conversation_id"])
    assert other["resumed"] is False
    assert other["conversation_id"] != first["conversation_id"]
    restarted = await site.platform.http.post(
        f"/api/v1/widget/{site.tenant.slug}/conversations", headers=bearer(site, first["token"])
    )
    assert restarted.status_code == 201
    assert restarted.json()["visitor_id"] == first["visitor_id"]
    assert restarted.json()["conversation_id"] != first["conversation_id"]
    await site.platform.http.patch(
        "/api/v1/widget/config", json={"conversation_lifetime_hours": 0}, headers=site.tenant.headers
    )
    try:
        again = await token_of(site, visitor_id=first["visitor_id"], conversation_id=first["conversation_id"])
        assert again["resumed"] is False
    finally:
        await site.platform.http.patch(
            "/api/v1/widget/config", json={"conversation_lifetime_hours": 24}, headers=site.tenant.headers
        )


async def test_tenants_are_isolated(site: Site) -> None:
    http = site.platform.http
    other = await site.platform.tenant()
    other_key = await issue_widget_key(site.platform, other)
    await http.patch(
        "/api/v1/widget/config", json={"allowed_origins": [site.host.origin()]}, headers=other.headers
    )
    assert (await start(site, other_key)).status_code == 401  # B's key on A's widget
    mine = await token_of(site)
    history = await http.get(f"/api/v1/widget/{other.slug}/conversation", headers=bearer(site, mine["token"]))
    assert history.status_code == 401  # A's token on B's widget
    keys = (await http.get("/api/v1/widget/keys", headers=site.tenant.headers)).json()
    revoke = await http.delete(f"/api/v1/widget/keys/{keys[0]['id']}", headers=other.headers)
    assert revoke.status_code == 404  # B cannot revoke A's key
    assert (await http.get("/api/v1/widget/feedback", headers=other.headers)).json()["total"] == 0
    assert (
        await http.get("/api/v1/widget/unknown-tenant-slug/config", params={"key": other_key})
    ).status_code == 404


async def test_bad_input_gets_a_clear_422(site: Site) -> None:
    started = await token_of(site)
    headers = bearer(site, started["token"])
    base = f"/api/v1/widget/{site.tenant.slug}"
    for path, body in [
        ("/chat", {"message": "   "}),
        ("/chat", {"message": "x" * 2001}),
        ("/feedback", {"message_id": "not-a-uuid", "rating": 1}),
        ("/feedback", {"message_id": str(uuid.uuid4()), "rating": 5}),
        ("/events", {"events": []}),
        ("/events", {"events": [{"type": "hack"}]}),
        ("/events", {"events": [{"type": "open", "data": {"x": "y" * 301}}]}),
        ("/sessions", {}),
    ]:
        response = await site.platform.http.post(base + path, json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["error"]["code"] == "validation_error"


async def test_limits_per_address_answer_429_the_widget_can_read(site: Site) -> None:
    limited = await site.platforms.start(fake=site.fake, WIDGET_RATE_LIMIT="2")
    url = f"/api/v1/widget/{site.tenant.slug}/sessions"
    codes = [
        (await limited.http.post(url, json={"key": site.widget_key}, headers=origin_of(site))).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    refused = await limited.http.post(url, json={"key": site.widget_key}, headers=origin_of(site))
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["access-control-allow-origin"] == site.host.origin()
    assert refused.json()["error"]["code"] == "rate_limited"


async def test_the_widget_can_be_switched_off(site: Site) -> None:
    off = await site.platforms.start(llm=False, WIDGET_ENABLED="false")
    assert (await off.http.get("/widget/v1/widget.js")).status_code == 404
    refused = await off.http.get(
        f"/api/v1/widget/{site.tenant.slug}/config", params={"key": site.widget_key}, headers=origin_of(site)
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "widget_disabled"
    tenant = await site.platform.tenant()
    key = await issue_widget_key(site.platform, tenant)
    await site.platform.http.patch(
        "/api/v1/widget/config",
        json={"enabled": False, "allowed_origins": [site.host.origin()]},
        headers=tenant.headers,
    )
    paused = await site.platform.http.get(
        f"/api/v1/widget/{tenant.slug}/config", params={"key": key}, headers=origin_of(site)
    )
    assert paused.status_code == 503
    assert paused.json()["error"]["code"] == "widget_disabled"


async def test_the_script_is_compressed_cached_and_versioned(site: Site) -> None:
    http = site.platform.http
    response = await http.get("/widget/v1/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    assert "max-age=604800" in response.headers["cache-control"]
    assert int(response.headers["content-length"]) < 35 * 1024
    assert "eval(" not in response.text
    assert "innerHTML" not in response.text
    cached = await http.get("/widget/v1/widget.js", headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304


async def test_the_preview_page_escapes_what_it_shows(site: Site) -> None:
    http = site.platform.http
    hostile = '"><script>alert(1)</script>'
    response = await http.get(f"/widget/preview/{site.tenant.slug}", params={"key": hostile, "locale": "en"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "Widget preview" in response.text
    assert (await http.get("/widget/preview/no-such-tenant")).status_code == 404
