"""Knowledge bases through the tenant API: CRUD, languages, defaults and isolation."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.factories import ADMIN, make_tenant


async def test_create_list_get_update_delete(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    created = await client.post(
        "/api/v1/knowledge-bases",
        json={"name": "Manuali", "description": "Product manuals", "language": "English"},
        headers=tenant.headers,
    )
    assert created.status_code == 201
    kb = created.json()
    assert (kb["language"], kb["is_default"]) == ("english", False)
    listed = (await client.get("/api/v1/knowledge-bases", headers=tenant.headers)).json()
    assert listed["total"] == 2
    got = await client.get(f"/api/v1/knowledge-bases/{kb['id']}", headers=tenant.headers)
    assert got.json()["description"] == "Product manuals"
    patched = await client.patch(
        f"/api/v1/knowledge-bases/{kb['id']}",
        json={"name": "Manuals", "language": "italian"},
        headers=tenant.headers,
    )
    assert (patched.json()["name"], patched.json()["language"]) == ("Manuals", "italian")
    assert (
        await client.delete(f"/api/v1/knowledge-bases/{kb['id']}", headers=tenant.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/knowledge-bases/{kb['id']}", headers=tenant.headers)
    ).status_code == 404


async def test_language_defaults_to_the_tenant_language(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="en")
    kb = (await client.post("/api/v1/knowledge-bases", json={"name": "FAQ"}, headers=tenant.headers)).json()
    assert kb["language"] == "english"


async def test_unknown_language_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    response = await client.post(
        "/api/v1/knowledge-bases", json={"name": "x", "language": "klingon"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "language"
    assert "italian" in response.json()["error"]["message"]


async def test_duplicate_names_are_409_within_a_tenant_only(client: httpx.AsyncClient) -> None:
    first, second = await make_tenant(client), await make_tenant(client)
    assert (
        await client.post("/api/v1/knowledge-bases", json={"name": "FAQ"}, headers=first.headers)
    ).status_code == 201
    dup = await client.post("/api/v1/knowledge-bases", json={"name": "FAQ"}, headers=first.headers)
    assert dup.status_code == 409
    assert (
        await client.post("/api/v1/knowledge-bases", json={"name": "FAQ"}, headers=second.headers)
    ).status_code == 201
    other = (
        await client.post("/api/v1/knowledge-bases", json={"name": "Other"}, headers=first.headers)
    ).json()
    rename = await client.patch(
        f"/api/v1/knowledge-bases/{other['id']}", json={"name": "FAQ"}, headers=first.headers
    )
    assert rename.status_code == 409
    unchanged = await client.get(f"/api/v1/knowledge-bases/{other['id']}", headers=first.headers)
    assert unchanged.json()["name"] == "Other", "the refused rename must not be half-written"


async def test_the_default_can_move_but_never_be_deleted(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    refused = await client.delete(f"/api/v1/knowledge-bases/{tenant.default_kb_id}", headers=tenant.headers)
    assert refused.status_code == 409
    new = (await client.post("/api/v1/knowledge-bases", json={"name": "New"}, headers=tenant.headers)).json()
    moved = await client.patch(
        f"/api/v1/knowledge-bases/{new['id']}", json={"is_default": True}, headers=tenant.headers
    )
    assert moved.json()["is_default"] is True
    old = (await client.get(f"/api/v1/knowledge-bases/{tenant.default_kb_id}", headers=tenant.headers)).json()
    assert old["is_default"] is False
    assert (
        await client.delete(f"/api/v1/knowledge-bases/{old['id']}", headers=tenant.headers)
    ).status_code == 204


async def test_another_tenants_knowledge_bases_are_invisible(client: httpx.AsyncClient) -> None:
    owner, stranger = await make_tenant(client), await make_tenant(client)
    kb_path = f"/api/v1/knowledge-bases/{owner.default_kb_id}"
    assert (await client.get(kb_path, headers=stranger.headers)).status_code == 404
    assert (await client.patch(kb_path, json={"name": "pwned"}, headers=stranger.headers)).status_code == 404
    assert (await client.delete(kb_path, headers=stranger.headers)).status_code == 404
    listed = (await client.get("/api/v1/knowledge-bases", headers=stranger.headers)).json()
    assert owner.default_kb_id not in [kb["id"] for kb in listed["items"]]
    assert (await client.get(kb_path, headers=owner.headers)).json()["name"] == "Default"


async def test_pagination_and_bad_parameters(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    for n in range(4):
        await client.post("/api/v1/knowledge-bases", json={"name": f"KB {n}"}, headers=tenant.headers)
    page = (await client.get("/api/v1/knowledge-bases?limit=2&offset=1", headers=tenant.headers)).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (2, 5, 2, 1)
    for query in ("limit=0", "limit=1000", "offset=-1", "limit=abc"):
        assert (
            await client.get(f"/api/v1/knowledge-bases?{query}", headers=tenant.headers)
        ).status_code == 422
    assert (
        await client.get(f"/api/v1/knowledge-bases/{uuid.uuid4()}", headers=tenant.headers)
    ).status_code == 404


async def test_deleting_a_tenant_removes_its_knowledge_bases(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    await client.delete(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)
    survivor = await make_tenant(client)
    assert (
        await client.get(f"/api/v1/knowledge-bases/{tenant.default_kb_id}", headers=survivor.headers)
    ).status_code == 404


async def test_changes_are_written_to_the_audit_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    from chatbot_platform.audit.service import list_entries

    tenant = await make_tenant(client)
    kb = (await client.post("/api/v1/knowledge-bases", json={"name": "Audit"}, headers=tenant.headers)).json()
    await client.delete(f"/api/v1/knowledge-bases/{kb['id']}", headers=tenant.headers)
    async with app.state.database.transaction() as session:
        entries = await list_entries(session, tenant_id=uuid.UUID(tenant.id))
    actions = [(e.action, e.actor) for e in entries]
    assert ("knowledge_base.deleted", f"api-key:{tenant.key_id}") in actions
    assert ("knowledge_base.created", f"api-key:{tenant.key_id}") in actions
    assert ("tenant.created", "admin-token") in actions
    assert all(e.request_id for e in entries)
