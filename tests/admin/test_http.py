"""The admin UI over HTTP: CSRF, login and its throttle, sessions, roles on the server, tenant isolation."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
from fastapi import FastAPI

from chatbot_platform.models import FailedJob, Role
from tests.admin.helpers import (
    Account,
    csrf_in,
    csrf_token,
    database_of,
    log_in,
    make_member,
    make_platform_admin,
    post_form,
)
from tests.factories import make_tenant
from tests.fixtures.cli import cbp
from tests.fixtures.database import ADMIN_TOKEN


async def test_the_login_page_speaks_italian_by_default_and_english_when_chosen(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/admin/login")
    assert page.status_code == 200
    assert '<html lang="it">' in page.text
    assert "Accedi" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    chosen = await web.post(
        "/admin/locale", data={"locale": "en", "next": "/admin/login", "csrf_token": csrf_in(page.text)}
    )
    assert chosen.status_code == 303
    assert "Sign in" in (await web.get("/admin/login")).text


async def test_a_post_without_the_right_csrf_token_or_from_another_origin_is_refused(
    web: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await make_platform_admin(app)
    form = {"email": account.email, "password": account.password}
    assert (await web.post("/admin/login", data=form)).status_code == 403
    token = await csrf_token(web)
    assert (await web.post("/admin/login", data={**form, "csrf_token": token + "x"})).status_code == 403
    foreign = await web.post(
        "/admin/login", data={**form, "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "cbp_admin_session" not in web.cookies
    await log_in(web, account)
    tenant = await make_tenant(web, slug="acme")
    refused = await web.post(f"/admin/t/{tenant.slug}/knowledge-bases", data={"name": "Forged"})
    assert refused.status_code == 403
    listing = await web.get(f"/admin/t/{tenant.slug}/knowledge-bases")
    assert "Forged" not in listing.text


async def test_a_wrong_password_is_refused_and_repeated_attempts_are_throttled(
    web: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await make_platform_admin(app)
    token = await csrf_token(web)
    statuses = []
    for _ in range(6):
        response = await web.post(
            "/admin/login", data={"email": account.email, "password": "wrong password!!", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert "Retry-After" in response.headers
    assert "cbp_admin_session" not in web.cookies
    unknown = await web.post(
        "/admin/login", data={"email": "nobody@example.com", "password": "whatever12345", "csrf_token": token}
    )
    assert unknown.status_code == 401
    assert "E-mail o password non validi." in unknown.text


async def test_pages_need_a_session_and_logout_ends_it(web: httpx.AsyncClient, app: FastAPI) -> None:
    page = await web.get("/admin/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/admin/login?next=")
    polled = await web.get("/admin/t/x/documents/status.json?ids=")
    assert polled.status_code == 401
    account = await make_platform_admin(app)
    token = await csrf_token(web)
    form = {"email": account.email, "password": account.password, "csrf_token": token}
    signed_in = await web.post("/admin/login", data={**form, "next": "//evil.example/admin/"})
    assert signed_in.headers["location"] == "/admin/"  # no open redirect
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    home = await web.get("/admin/")
    assert home.status_code == 200
    assert account.email in home.text
    chosen = await post_form(web, "/admin/locale", {"locale": "en", "next": "/admin/"})
    assert chosen.status_code == 303
    web.cookies.delete("cbp_admin_locale")  # the preference is the user's, not only the browser's
    assert "Dashboard" in (await web.get("/admin/")).text
    stale_session = web.cookies["cbp_admin_session"]
    assert (await post_form(web, "/admin/logout")).status_code == 303
    web.cookies.set("cbp_admin_session", stale_session)
    assert (await web.get("/admin/")).status_code == 303


async def test_a_tenant_admin_cannot_open_another_tenants_pages_or_objects_by_url(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(client, slug="tenant-a")
    b = await make_tenant(client, slug="tenant-b")
    account = await make_member(app, a.id, "admin-a@example.com", Role.ADMIN)
    created = await client.post(
        "/api/v1/documents",
        json={"knowledge_base_id": b.default_kb_id, "title": "segreto", "text": "segreto di B"},
        headers=b.headers,
    )
    b_document = created.json()["id"]
    await log_in(web, account)
    assert (await web.get("/admin/")).status_code == 303  # one tenant: straight to it
    assert (await web.get("/admin/t/tenant-a/")).status_code == 200
    for path in (
        "/admin/t/tenant-b/",
        "/admin/t/tenant-b/keys",
        f"/admin/t/tenant-b/knowledge-bases/{b.default_kb_id}",
        f"/admin/t/tenant-b/documents/{b_document}",
        "/admin/tenants",
    ):
        response = await web.get(path)
        assert response.status_code in (403, 404), path
        assert "segreto" not in response.text
    # B's ids under A's URL are simply not found, in pages and in the polling endpoint.
    assert (await web.get(f"/admin/t/tenant-a/knowledge-bases/{b.default_kb_id}")).status_code == 404
    assert (await web.get(f"/admin/t/tenant-a/documents/{b_document}")).status_code == 404
    polled = await web.get(f"/admin/t/tenant-a/documents/status.json?ids={b_document}")
    assert polled.json() == {"items": []}
    revoke = await post_form(web, f"/admin/t/tenant-a/keys/{b.key_id}/revoke", page="/admin/t/tenant-a/keys")
    assert revoke.status_code == 404
    assert (await client.get("/api/v1/me", headers=b.headers)).status_code == 200
    forged = await post_form(
        web, "/admin/t/tenant-b/knowledge-bases", {"name": "Intruso"}, page="/admin/t/tenant-a/"
    )
    assert forged.status_code == 404


async def test_a_viewer_sees_the_pages_but_the_server_refuses_every_change(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="viewed")
    viewer = await make_member(app, tenant.id, "viewer@example.com", Role.VIEWER)
    await log_in(web, viewer)
    base = "/admin/t/viewed"
    pages = (
        "/",
        "/knowledge-bases",
        "/documents",
        "/rag",
        "/assistants",
        "/scraper",
        "/widget",
        "/members",
        "/keys",
    )
    for path in (*pages, "/settings", "/audit"):
        page = await web.get(base + path)
        assert page.status_code == 200, path
    keys_page = (await web.get(f"{base}/keys")).text
    assert "/revoke" not in keys_page
    assert 'name="scopes"' not in keys_page
    token = csrf_in(keys_page)
    attempts = {
        f"{base}/knowledge-bases": {"name": "Nuova"},
        f"{base}/knowledge-bases/{tenant.default_kb_id}": {"name": "Rinominata"},
        f"{base}/rag": {"query": "ciao", "target": "default"},
        f"{base}/keys": {"name": "furtiva"},
        f"{base}/keys/{tenant.key_id}/revoke": {},
        f"{base}/members": {"email": "amico@example.com", "role": "owner"},
        f"{base}/assistants/new": {"name": "furtivo"},
        f"{base}/scraper": {"name": "furtivo", "seeds": "https://example.com/"},
        f"{base}/widget": {"primary_color": "#000000"},
        f"{base}/widget/keys": {"name": "furtiva"},
        f"{base}/settings": {"name": "Mio"},
    }
    for path, data in attempts.items():
        response = await web.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    upload = await web.post(
        f"{base}/documents",
        data={"knowledge_base_id": tenant.default_kb_id, "csrf_token": token},
        files={"files": ("a.txt", b"testo", "text/plain")},
    )
    assert upload.status_code == 403
    assert (await client.get("/api/v1/me", headers=tenant.headers)).status_code == 200  # the key still works
    kbs = (await client.get("/api/v1/knowledge-bases", headers=tenant.headers)).json()
    assert [kb["name"] for kb in kbs["items"]] == ["Default"]


async def test_an_editor_manages_content_but_not_keys_or_members(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="edited")
    editor = await make_member(app, tenant.id, "editor@example.com", Role.EDITOR)
    await log_in(web, editor)
    base = "/admin/t/edited"
    created = await post_form(
        web, f"{base}/knowledge-bases", {"name": "Manuali", "language": "italian"}, page=base + "/"
    )
    assert created.status_code == 303
    assert (await post_form(web, f"{base}/keys", {"name": "x"}, page=base + "/")).status_code == 403
    invite = await post_form(
        web, f"{base}/members", {"email": "a@example.com", "role": "viewer"}, page=base + "/"
    )
    assert invite.status_code == 403
    account_page = await web.get(created.headers["location"])
    assert "Manuali" in account_page.text


async def test_output_is_escaped_and_a_platform_admin_deletes_a_tenant(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="escaped", name="<script>alert(1)</script>")
    account: Account = await make_platform_admin(app)
    await log_in(web, account)
    page = await web.get("/admin/t/escaped/")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    deleted = await post_form(web, "/admin/t/escaped/delete", page="/admin/t/escaped/settings")
    assert deleted.status_code == 303
    assert (await web.get("/admin/t/escaped/")).status_code == 404
    assert (await client.get("/api/v1/me", headers=tenant.headers)).status_code == 401


async def test_an_owner_changes_the_tenant_settings_and_the_audit_log_shows_who(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="configured")
    owner = await make_member(app, tenant.id, "owner@example.com", Role.OWNER)
    await log_in(web, owner)
    saved = await post_form(
        web,
        "/admin/t/configured/settings",
        {"name": "Comune Configurato", "default_language": "en", "s_vector_top_k": "25", "s_hybrid": "false"},
        page="/admin/t/configured/settings",
    )
    assert saved.status_code == 303
    shown = (await client.get(f"/api/v1/tenants/{tenant.id}", headers={"X-Admin-Token": ADMIN_TOKEN})).json()
    assert shown["name"] == "Comune Configurato"
    assert shown["default_language"] == "en"
    assert shown["settings"]["vector_top_k"] == 25
    assert shown["settings"]["hybrid"] is False
    bad = await post_form(
        web,
        "/admin/t/configured/settings",
        {"name": "x", "s_vector_top_k": "0"},
        page="/admin/t/configured/settings",
    )
    assert bad.status_code == 422
    log = await web.get("/admin/t/configured/audit")
    assert "tenant.updated" in log.text
    assert "owner@example.com" in log.text
    assert (
        await post_form(web, "/admin/t/configured/delete", page="/admin/t/configured/")
    ).status_code == 403
    viewer = await make_member(app, tenant.id, "viewer2@example.com", Role.VIEWER)
    await post_form(web, "/admin/logout", page="/admin/t/configured/")
    await log_in(web, viewer)
    refused = await post_form(
        web, "/admin/t/configured/settings", {"name": "Mio"}, page="/admin/t/configured/"
    )
    assert refused.status_code == 403


async def test_cbp_admin_create_makes_a_platform_admin_who_can_sign_in(
    web: httpx.AsyncClient, env: dict[str, str]
) -> None:
    result = cbp(
        "admin",
        "create",
        "--email",
        "Boss@Example.com",
        "--name",
        "Boss",
        env={**env, "CBP_ADMIN_PASSWORD": "a long enough password"},
    )
    assert '"platform_admin": true' in result.stdout
    await log_in(web, Account("boss@example.com", "a long enough password"))
    tenants_page = await web.get("/admin/tenants")
    assert tenants_page.status_code == 200
    assert "Piattaforma" in tenants_page.text


async def test_the_platform_admin_sees_the_queues_and_retries_a_failed_job(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="queued")
    async with database_of(app).transaction() as session:
        session.add(
            FailedJob(
                tenant_id=uuid.UUID(tenant.id),
                queue="ingestion",
                task="ingestion.purge_document",
                job_key="purge:test",
                kwargs={"tenant_id": tenant.id, "document_id": str(uuid.uuid4())},
                error="Traceback ...\nRuntimeError: <b>boom</b>",
                attempts=3,
            )
        )
    member = await make_member(app, tenant.id, "admin-q@example.com", Role.ADMIN)
    await log_in(web, member)
    assert (await web.get("/admin/queues")).status_code == 403
    await post_form(web, "/admin/logout", page="/admin/t/queued/")
    await log_in(web, await make_platform_admin(app))
    page = await web.get("/admin/queues")
    assert page.status_code == 200
    assert "ingestion.purge_document" in page.text
    assert "&lt;b&gt;boom&lt;/b&gt;" in page.text
    failed_id = re.search(r"/admin/queues/failed/([0-9a-f-]{36})/retry", page.text)
    assert failed_id is not None
    retried = await post_form(web, f"/admin/queues/failed/{failed_id.group(1)}/retry", page="/admin/queues")
    assert retried.status_code == 303
    assert "ingestion.purge_document" not in (await web.get("/admin/queues")).text


async def wait_until_final(web: httpx.AsyncClient, slug: str, document_id: str) -> dict[str, object]:
    for _ in range(300):
        items = (await web.get(f"/admin/t/{slug}/documents/status.json?ids={document_id}")).json()["items"]
        if items and items[0]["final"]:
            return dict(items[0])
        await asyncio.sleep(0.1)
    raise AssertionError("the document never finished processing")


async def test_an_editor_uploads_views_chunks_exports_reingests_and_deletes_documents(
    web: httpx.AsyncClient, app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="docs")
    await log_in(web, await make_member(app, tenant.id, "editor-docs@example.com", Role.EDITOR))
    base = "/admin/t/docs/documents"
    token = csrf_in((await web.get(base)).text)
    uploaded = await web.post(
        base,
        data={"knowledge_base_id": tenant.default_kb_id, "csrf_token": token},
        files=[
            ("files", ("=orari.txt", "L'ufficio tributi apre il martedì.".encode(), "text/plain")),
            ("files", ("vuoto.txt", b"", "text/plain")),
        ],
    )
    assert uploaded.status_code == 200  # one file refused: the page lists each result
    assert "vuoto.txt" in uploaded.text
    listing = await web.get(f"{base}?status=pending&kb={tenant.default_kb_id}")
    found = re.search(r'data-live-id="([0-9a-f-]{36})"', (await web.get(base)).text)
    assert found is not None
    document_id = found.group(1)
    assert listing.status_code == 200
    state = await wait_until_final(web, "docs", document_id)
    assert state["status"] == "indexed"
    detail = await web.get(f"{base}/{document_id}")
    assert "ufficio tributi apre il martedì" in detail.text
    exported = await web.get(f"{base}/export.csv?status=indexed")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "'=orari.txt" in exported.text  # a title that looks like a formula is defused
    reingested = await post_form(web, f"{base}/{document_id}/reingest", page=f"{base}/{document_id}")
    assert reingested.status_code == 303
    assert (await wait_until_final(web, "docs", document_id))["status"] == "indexed"
    deleted = await post_form(web, f"{base}/{document_id}/delete", page=f"{base}/{document_id}")
    assert deleted.status_code == 303
    assert (await web.get(f"{base}/{document_id}")).status_code == 404
