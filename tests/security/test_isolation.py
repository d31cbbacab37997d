"""Tenant isolation, generated from the app's routes: for every route with a path parameter, tenant A's
key (every scope) and A's widget visitor get 401/403/404 on tenant B's objects (one of each kind,
created through the API), never a 2xx, and B's objects are untouched afterwards. Lists, exports and
search traces read with A's key never carry B's data."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.desk.conftest import ORIGIN
from tests.factories import ADMIN, TenantWithKey, make_tenant
from tests.security.routes import RouteInfo, all_routes

SECRET_WORD = "zanzibarquokka"  # only in tenant B's data
FORM = {
    "name": "contatti",
    "title": "Contatti",
    "fields": [{"name": "email", "label": "E-mail", "type": "email", "required": True}],
    "min_fill_seconds": 0,
}
# Public by design, with no tenant data beyond what a website shows anyway.
PUBLIC = {
    ("GET", "/api/v1/widget/{tenant_slug}/config"),  # the widget's theme, for allowed origins
    ("GET", "/widget/preview/{tenant_slug}"),  # a demo page of that theme
    ("OPTIONS", "/api/v1/widget/{tenant_slug}/{rest:path}"),  # CORS preflight
}
# Erasure requests name a visitor, not an object: they answer with what they erased in the caller's tenant.
ERASE_BY_NAME = {("DELETE", "/api/v1/conversations/visitors/{visitor_id}")}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/tenants/{tenant_id}/api-keys"): {"name": "stolen"},
    ("POST", "/api/v1/tenants/{tenant_id}/users"): {"email": "x@a.example", "role": "viewer"},
    ("PATCH", "/api/v1/tenants/{tenant_id}"): {"name": "stolen"},
    ("PATCH", "/api/v1/knowledge-bases/{kb_id}"): {"name": "stolen"},
    ("PATCH", "/api/v1/assistants/{assistant_id}"): {"persona": "stolen"},
    ("PATCH", "/api/v1/scraper/configs/{config_id}"): {"name": "stolen"},
    ("PATCH", "/api/v1/desk/handoffs/{handoff_id}"): {"priority": 5},
    ("POST", "/api/v1/desk/handoffs/{handoff_id}/take"): {"operator": "mallory"},
    ("POST", "/api/v1/desk/handoffs/{handoff_id}/reply"): {"operator": "mallory", "text": "hi"},
    ("POST", "/api/v1/desk/handoffs/{handoff_id}/release"): {"operator": "mallory"},
    ("POST", "/api/v1/desk/handoffs/{handoff_id}/close"): {},
    ("PATCH", "/api/v1/desk/canned-replies/{reply_id}"): {"title": "stolen"},
    ("PATCH", "/api/v1/desk/forms/{form_id}"): {"enabled": False},
    ("PATCH", "/api/v1/desk/submissions/{submission_id}"): {"status": "done"},
    ("POST", "/api/v1/widget/{tenant_slug}/sessions"): {"key": "<A's publishable key>"},
    ("POST", "/api/v1/widget/{tenant_slug}/chat"): {"message": "ciao"},
    ("POST", "/api/v1/widget/{tenant_slug}/feedback"): {"message_id": "<B's message>", "rating": 1},
    ("POST", "/api/v1/widget/{tenant_slug}/events"): {"kind": "open"},
    ("POST", "/api/v1/widget/{tenant_slug}/handoff"): {"message": "aiuto"},
    ("POST", "/api/v1/widget/{tenant_slug}/handoff/messages"): {"text": "ciao"},
    ("POST", "/api/v1/widget/{tenant_slug}/forms/trigger"): {"message": "contatto"},
    ("POST", "/api/v1/widget/{tenant_slug}/forms/{form_id}/submissions"): {
        "data": {"email": "a@a.example"},
        "form_token": "x",
    },
}


@dataclass
class WidgetVisitor:
    token: str
    visitor_id: str
    conversation_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Origin": ORIGIN, "Authorization": f"Bearer {self.token}"}


async def ok(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in (codes or (200, 201, 202)), (response.request.url, response.text)
    return response.json() if response.content else None


async def visitor(client: httpx.AsyncClient, tenant: TenantWithKey, key: str) -> WidgetVisitor:
    data = await ok(
        await client.post(
            f"/api/v1/widget/{tenant.slug}/sessions", json={"key": key}, headers={"Origin": ORIGIN}
        )
    )
    return WidgetVisitor(data["token"], data["visitor_id"], data["conversation_id"])


async def objects_of(
    client: httpx.AsyncClient, tenant: TenantWithKey, word: str = SECRET_WORD
) -> dict[str, str]:
    """One object of each kind for `tenant`, made through the API: path parameter -> its id."""
    h = tenant.headers
    kb = await ok(await client.post("/api/v1/knowledge-bases", json={"name": "segreta"}, headers=h))
    document = await ok(
        await client.post(
            "/api/v1/documents",
            json={"knowledge_base_id": kb["id"], "title": f"Dossier {word}", "text": f"{word} " * 20},
            headers=h,
        )
    )
    assistant = await ok(
        await client.post("/api/v1/assistants", json={"name": f"bot-{tenant.slug}"}, headers=h)
    )
    config = await ok(
        await client.post(
            "/api/v1/scraper/configs",
            json={
                "name": "sito",
                "knowledge_base_id": kb["id"],
                "options": {"seeds": ["https://b.example/"]},
            },
            headers=h,
        )
    )
    run = await ok(await client.post(f"/api/v1/scraper/configs/{config['id']}/runs", headers=h))
    reply = await ok(
        await client.post("/api/v1/desk/canned-replies", json={"title": "Saluto", "body": word}, headers=h)
    )
    form = await ok(await client.post("/api/v1/desk/forms", json=FORM, headers=h))
    widget_key = await open_widget_key(client, tenant)
    guest = await visitor(client, tenant, widget_key["key"])
    chat = await client.post(
        f"/api/v1/widget/{tenant.slug}/chat", json={"message": word}, headers=guest.headers
    )
    assert chat.status_code == 200, chat.text
    form_token = (
        await ok(await client.get(f"/api/v1/widget/{tenant.slug}/forms/{form['id']}", headers=guest.headers))
    )["form_token"]
    await ok(
        await client.post(
            f"/api/v1/widget/{tenant.slug}/forms/{form['id']}/submissions",
            json={"data": {"email": f"{word}@b.example"}, "form_token": form_token},
            headers=guest.headers,
        )
    )
    handoff = await ok(
        await client.post(
            f"/api/v1/widget/{tenant.slug}/handoff", json={"message": word}, headers=guest.headers
        )
    )
    conversations = await ok(await client.get("/api/v1/conversations", headers=h))
    submissions = await ok(await client.get("/api/v1/desk/submissions", headers=h))
    return {
        "tenant_id": tenant.id,
        "key_id": tenant.key_id,
        "widget_key_id": widget_key["id"],
        "kb_id": kb["id"],
        "document_id": document["id"],
        "assistant_id": assistant["id"],
        "model_id": assistant["name"],
        "config_id": config["id"],
        "run_id": run["id"],
        "reply_id": reply["id"],
        "form_id": form["id"],
        "submission_id": submissions["items"][0]["id"],
        "handoff_id": str(handoff["handoff_id"]),
        "conversation_id": conversations["items"][0]["conversation_id"],
        "visitor_id": guest.visitor_id,
        "tenant_slug": tenant.slug,
        "rest": "chat",
    }


async def open_widget_key(client: httpx.AsyncClient, tenant: TenantWithKey) -> dict[str, Any]:
    await ok(
        await client.patch(
            "/api/v1/widget/config", json={"allowed_origins": [ORIGIN]}, headers=tenant.headers
        )
    )
    issued: dict[str, Any] = await ok(
        await client.post("/api/v1/widget/keys", json={"name": "site"}, headers=tenant.headers)
    )
    return issued


def values_for(route: RouteInfo, objects: dict[str, str]) -> dict[str, str]:
    values = dict(objects)
    if route.path.startswith("/api/v1/widget/keys/"):
        values["key_id"] = objects["widget_key_id"]
    return values


async def attempt(
    client: httpx.AsyncClient, route: RouteInfo, url: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    send_body = route.method in {"POST", "PATCH", "PUT"}
    request = client.request(route.method, url, headers=headers, json=body if send_body else None)
    return await asyncio.wait_for(request, timeout=20)  # a stream that opened would hang here


async def test_tenant_a_gets_nothing_of_tenant_b_on_any_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant_a, tenant_b = await make_tenant(client), await make_tenant(client)
    b_objects = await objects_of(client, tenant_b)
    a_key = await open_widget_key(client, tenant_a)
    a_visitor = await visitor(client, tenant_a, a_key["key"])

    checked: list[str] = []
    for route in all_routes(app):
        key = (route.method, route.path)
        if not route.params or key in PUBLIC or route.method == "HEAD":
            continue
        visitor_route = "{tenant_slug}" in route.path
        headers = a_visitor.headers if visitor_route else tenant_a.headers
        body = dict(BODIES.get(key, {}))
        if key == ("POST", "/api/v1/widget/{tenant_slug}/sessions"):
            body, headers = {"key": a_key["key"]}, {"Origin": ORIGIN}
        if "message_id" in body:
            body["message_id"] = "00000000-0000-4000-8000-000000000000"
        response = await attempt(client, route, route.url(values_for(route, b_objects)), headers, body)
        if key in ERASE_BY_NAME:  # erasure by a visitor id: 200, having erased nothing of B's
            assert response.status_code == 200, response.text
            assert not any(response.json().values()), response.text
            checked.append(f"{route.method} {route.path}")
            continue
        assert response.status_code in (401, 403, 404), (
            f"{route.method} {route.path} with tenant A's credentials on B's object answered "
            f"{response.status_code}: {response.text[:300]}"
        )
        checked.append(f"{route.method} {route.path}")
    assert len(checked) >= 45, checked

    # Every object of B is still there and unchanged, seen with B's own key.
    h = tenant_b.headers
    for path in (
        f"/api/v1/knowledge-bases/{b_objects['kb_id']}",
        f"/api/v1/documents/{b_objects['document_id']}",
        f"/api/v1/assistants/{b_objects['assistant_id']}",
        f"/api/v1/scraper/configs/{b_objects['config_id']}",
        f"/api/v1/desk/forms/{b_objects['form_id']}",
        f"/api/v1/desk/handoffs/{b_objects['handoff_id']}",
        f"/api/v1/conversations/{b_objects['conversation_id']}",
    ):
        seen = await client.get(path, headers=h)
        assert seen.status_code == 200, (path, seen.text)
        assert "stolen" not in seen.text
        assert "mallory" not in seen.text
    keys = await client.get(f"/api/v1/tenants/{tenant_b.id}/api-keys", headers=ADMIN)
    assert [k["name"] for k in keys.json()] == ["test key"] if isinstance(keys.json(), list) else True
    assert (await client.get("/api/v1/me", headers=h)).status_code == 200


async def test_lists_exports_and_traces_of_tenant_a_never_carry_tenant_b(client: httpx.AsyncClient) -> None:
    tenant_a, tenant_b = await make_tenant(client), await make_tenant(client)
    await objects_of(client, tenant_b)
    await objects_of(
        client, tenant_a, "ornitorinco"
    )  # A has data of its own, so empty answers prove nothing less
    h = tenant_a.headers
    for path, params in (
        ("/api/v1/documents", {}),
        ("/api/v1/knowledge-bases", {}),
        ("/api/v1/assistants", {}),
        ("/api/v1/scraper/configs", {}),
        ("/api/v1/conversations", {}),
        ("/api/v1/conversations/export", {"format": "json"}),
        ("/api/v1/conversations/export", {"format": "csv"}),
        ("/api/v1/analytics/export", {}),
        ("/api/v1/analytics/dashboard", {}),
        ("/api/v1/desk/submissions/export", {}),
        ("/api/v1/desk/handoffs", {}),
        ("/api/v1/desk/canned-replies", {}),
        ("/api/v1/widget/feedback", {}),
        ("/v1/models", {}),
    ):
        response = await client.get(path, params=params, headers=h)
        assert response.status_code == 200, (path, response.text)
        assert SECRET_WORD not in response.text, path
        assert tenant_b.id not in response.text, path
        assert tenant_b.slug not in response.text, path
    # Search with the word only B has: nothing found, and the trace names none of B's rows.
    await wait_indexed(client, tenant_b)
    found = await client.post(
        "/api/v1/retrieval/search", json={"query": SECRET_WORD, "trace": True}, headers=h
    )
    assert found.status_code == 200, found.text
    assert SECRET_WORD not in json.dumps(found.json()["results"]), found.json()["results"]
    assert tenant_b.id not in found.text
    b_search = await client.post(
        "/api/v1/retrieval/search", json={"query": SECRET_WORD}, headers=tenant_b.headers
    )
    assert SECRET_WORD in b_search.text  # the word is findable: A's empty result is isolation, not chance


async def wait_indexed(client: httpx.AsyncClient, tenant: TenantWithKey) -> None:
    for _ in range(300):
        page = await client.get("/api/v1/documents", params={"status": "indexed"}, headers=tenant.headers)
        if page.json()["total"] >= 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("B's document was not indexed")
