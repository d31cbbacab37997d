"""The provisioning flow of the README, and its refusals."""

from __future__ import annotations

import uuid

import httpx

from tests.factories import ADMIN, make_tenant


async def test_tenant_creation_returns_the_tenant_and_its_default_knowledge_base(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/tenants",
        json={"name": "Comune di Città Alta", "domain": "Comune.Example.IT", "plan": "pro"},
        headers=ADMIN,
    )
    assert response.status_code == 201
    tenant = response.json()
    assert tenant["slug"] == "comune-di-citta-alta"
    assert tenant["domain"] == "comune.example.it"
    assert tenant["default_language"] == "it"
    key = (
        await client.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "k"}, headers=ADMIN)
    ).json()
    kbs = (
        await client.get("/api/v1/knowledge-bases", headers={"Authorization": f"Bearer {key['key']}"})
    ).json()
    assert [kb["id"] for kb in kbs["items"]] == [tenant["default_knowledge_base_id"]]
    assert kbs["items"][0]["is_default"] is True
    assert kbs["items"][0]["language"] == "italian"


async def test_admin_token_is_accepted_as_header_or_bearer_and_refused_otherwise(
    client: httpx.AsyncClient,
) -> None:
    bearer = {"Authorization": f"Bearer {ADMIN['X-Admin-Token']}"}
    assert (await client.get("/api/v1/tenants", headers=ADMIN)).status_code == 200
    assert (await client.get("/api/v1/tenants", headers=bearer)).status_code == 200
    for headers in ({}, {"X-Admin-Token": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = await client.get("/api/v1/tenants", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_a_tenant_key_is_not_an_admin_token(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    assert (await client.get("/api/v1/tenants", headers=tenant.headers)).status_code == 401


async def test_derived_slugs_are_made_unique_but_an_explicit_duplicate_is_a_conflict(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.post("/api/v1/tenants", json={"name": "Bar Sport"}, headers=ADMIN)).json()
    second = (await client.post("/api/v1/tenants", json={"name": "Bar Sport"}, headers=ADMIN)).json()
    assert (first["slug"], second["slug"]) == ("bar-sport", "bar-sport-2")
    duplicate = await client.post(
        "/api/v1/tenants", json={"name": "Other", "slug": "bar-sport"}, headers=ADMIN
    )
    assert duplicate.status_code == 409
    assert "bar-sport" in duplicate.json()["error"]["message"]
    listed = (await client.get("/api/v1/tenants", headers=ADMIN)).json()
    assert listed["total"] == 2, "the refused tenant must not be half-written"


async def test_invalid_tenant_bodies_get_422_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "slug": "Not A Slug"}, "slug"),
        ({"name": "x", "default_language": "fr"}, "default_language"),
        ({"name": "x", "unexpected": 1}, "unexpected"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/tenants", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert field in [d["field"] for d in response.json()["error"]["details"]], body
    malformed = await client.post(
        "/api/v1/tenants", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422


async def test_get_patch_and_delete_a_tenant(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, name="Hotel Mare")
    got = await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)
    assert got.json()["name"] == "Hotel Mare"
    patched = await client.patch(
        f"/api/v1/tenants/{tenant.id}", json={"plan": "enterprise", "default_language": "en"}, headers=ADMIN
    )
    assert patched.status_code == 200
    assert (patched.json()["plan"], patched.json()["default_language"]) == ("enterprise", "en")
    assert (await client.delete(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).status_code == 204
    assert (await client.get(f"/api/v1/tenants/{tenant.id}", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/me", headers=tenant.headers)).status_code == 401


async def test_unknown_tenant_ids_are_404(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/v1/tenants/{missing}"),
        ("PATCH", f"/api/v1/tenants/{missing}"),
        ("DELETE", f"/api/v1/tenants/{missing}"),
        ("POST", f"/api/v1/tenants/{missing}/api-keys"),
        ("GET", f"/api/v1/tenants/{missing}/users"),
    ]:
        body = {"name": "k"} if method in {"POST", "PATCH"} else None
        response = await client.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == 404, path
    assert (await client.get("/api/v1/tenants/not-a-uuid", headers=ADMIN)).status_code == 422


async def test_issued_key_is_shown_once_stored_hashed_and_revocable(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    me = await client.get("/api/v1/me", headers=tenant.headers)
    assert me.status_code == 200
    assert me.json()["tenant"]["id"] == tenant.id
    keys = (await client.get(f"/api/v1/tenants/{tenant.id}/api-keys", headers=ADMIN)).json()
    assert all("key" not in k and "key_hash" not in k for k in keys)
    assert tenant.key.startswith(keys[0]["prefix"])
    revoked = await client.delete(f"/api/v1/tenants/{tenant.id}/api-keys/{tenant.key_id}", headers=ADMIN)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/me", headers=tenant.headers)
    assert after.status_code == 401
    assert after.headers["www-authenticate"] == "Bearer"


async def test_keys_cannot_be_revoked_through_another_tenant(client: httpx.AsyncClient) -> None:
    owner, other = await make_tenant(client), await make_tenant(client)
    response = await client.delete(f"/api/v1/tenants/{other.id}/api-keys/{owner.key_id}", headers=ADMIN)
    assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200


async def test_tampered_or_malformed_keys_are_401(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    for key in (
        tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B"),
        "cbp_",
        "garbage",
        tenant.key + "x",
    ):
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401, key


async def test_scopes_are_enforced(client: httpx.AsyncClient) -> None:
    reader = await make_tenant(client, scopes=["knowledge_bases:read"])
    assert (await client.get("/api/v1/knowledge-bases", headers=reader.headers)).status_code == 200
    denied = await client.post("/api/v1/knowledge-bases", json={"name": "x"}, headers=reader.headers)
    assert denied.status_code == 403
    assert "knowledge_bases:write" in denied.json()["error"]["message"]
    bad_scope = await client.post(
        f"/api/v1/tenants/{reader.id}/api-keys", json={"name": "k", "scopes": ["everything"]}, headers=ADMIN
    )
    assert bad_scope.status_code == 422


async def test_users_are_added_with_roles_and_hashed_passwords(client: httpx.AsyncClient) -> None:
    first, second = await make_tenant(client), await make_tenant(client)
    body = {
        "email": "Maria@Example.it",
        "name": "Maria",
        "role": "owner",
        "password": "correct horse battery",
    }
    created = await client.post(f"/api/v1/tenants/{first.id}/users", json=body, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["email"] == "maria@example.it"
    assert created.json()["has_password"] is True
    assert "password" not in created.json()
    again = await client.post(f"/api/v1/tenants/{first.id}/users", json=body, headers=ADMIN)
    assert again.status_code == 409
    elsewhere = await client.post(
        f"/api/v1/tenants/{second.id}/users", json={**body, "role": "viewer"}, headers=ADMIN
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json()["id"] == created.json()["id"], "one person, two memberships"
    members = (await client.get(f"/api/v1/tenants/{second.id}/users", headers=ADMIN)).json()
    assert [(m["email"], m["role"]) for m in members] == [("maria@example.it", "viewer")]


async def test_invalid_user_bodies_are_422(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    for body, field in [
        ({"email": "not-an-email", "name": "x", "role": "viewer"}, "email"),
        ({"email": "a@b.it", "name": "x", "role": "superuser"}, "role"),
        ({"email": "a@b.it", "name": "x", "role": "viewer", "password": "short"}, "password"),
    ]:
        response = await client.post(f"/api/v1/tenants/{tenant.id}/users", json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert field in response.json()["error"]["message"]
