"""Documents through the HTTP API, processed by the real job queue and the real local embedder."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from chatbot_platform.app import create_app
from tests.factories import TenantWithKey, make_tenant
from tests.fixtures.database import make_settings

ITALIAN = (
    "# Servizi anagrafici\n\n## Carta d'identità\n\n"
    "La carta d'identità elettronica si richiede presso l'ufficio anagrafe del Comune. "
    "Servono una fotografia recente e il codice fiscale. Il costo è di 22 euro.\n\n"
    "## Orari\n\nL'ufficio è aperto dal lunedì al venerdì dalle 9 alle 12.\n"
)
TERMINAL = {"indexed", "failed"}


async def wait_for(
    client: httpx.AsyncClient, tenant: TenantWithKey, document_id: str, patience: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        document = (await client.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)).json()
        if document["status"] in TERMINAL:
            return document
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"document stuck in {document['status']}: {document}")
        await asyncio.sleep(0.1)


async def upload(
    client: httpx.AsyncClient, tenant: TenantWithKey, name: str, data: bytes, **fields: str
) -> httpx.Response:
    form = {"knowledge_base_id": tenant.default_kb_id, **fields}
    return await client.post(
        "/api/v1/documents", files={"file": (name, data)}, data=form, headers=tenant.headers
    )


async def test_an_uploaded_markdown_file_becomes_indexed_chunks_with_heading_paths(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    response = await upload(client, tenant, "anagrafe.md", ITALIAN.encode(), title="Anagrafe")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    document = await wait_for(client, tenant, response.json()["id"])
    assert document["status"] == "indexed", document["error"]
    assert (document["progress"], document["chunk_count"] >= 1, document["indexed_at"] is not None) == (
        100,
        True,
        True,
    )
    chunks = (await client.get(f"/api/v1/documents/{document['id']}/chunks", headers=tenant.headers)).json()
    assert chunks["total"] == document["chunk_count"]
    assert all(chunk["embedded"] for chunk in chunks["items"])
    paths = [chunk["heading_path"] for chunk in chunks["items"]]
    assert any("Carta d'identità" in path for path in paths)
    assert "22 euro" in " ".join(chunk["text"] for chunk in chunks["items"])


async def test_text_documents_are_full_text_searchable_in_the_knowledge_base_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client)
    response = await client.post(
        "/api/v1/documents",
        json={"knowledge_base_id": tenant.default_kb_id, "title": "Orari", "text": ITALIAN},
        headers=tenant.headers,
    )
    assert response.status_code == 202
    await wait_for(client, tenant, response.json()["id"])
    async with app.state.database.transaction() as session:
        hits = await session.scalar(
            text(
                "SELECT count(*) FROM chunks "
                "WHERE tenant_id = :t AND tsv @@ plainto_tsquery('italian', 'uffici aperti')"
            ),
            {"t": uuid.UUID(tenant.id)},
        )
    assert hits >= 1, "Italian stemming matches 'uffici aperti' with 'ufficio è aperto'"


async def test_same_external_id_updates_the_document_and_unchanged_content_costs_nothing(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    body = {
        "knowledge_base_id": tenant.default_kb_id,
        "title": "FAQ",
        "text": "Prima versione.",
        "external_id": "faq-1",
    }
    first = await client.post("/api/v1/documents", json=body, headers=tenant.headers)
    await wait_for(client, tenant, first.json()["id"])
    same = await client.post("/api/v1/documents", json=body, headers=tenant.headers)
    assert same.status_code == 200
    assert (same.json()["id"], same.json()["unchanged"]) == (first.json()["id"], True)
    changed = await client.post(
        "/api/v1/documents", json={**body, "text": "Seconda versione."}, headers=tenant.headers
    )
    assert (changed.status_code, changed.json()["id"]) == (202, first.json()["id"])
    document = await wait_for(client, tenant, first.json()["id"])
    assert document["version"] == 2
    chunks = (await client.get(f"/api/v1/documents/{document['id']}/chunks", headers=tenant.headers)).json()
    assert [c["text"] for c in chunks["items"]] == ["Seconda versione."]


async def test_idempotency_key_replays_the_first_answer(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    body = {"knowledge_base_id": tenant.default_kb_id, "title": "T", "text": "Testo."}
    headers = {**tenant.headers, "Idempotency-Key": "req-123"}
    first = await client.post("/api/v1/documents", json=body, headers=headers)
    again = await client.post("/api/v1/documents", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    listed = (await client.get("/api/v1/documents", headers=tenant.headers)).json()
    assert listed["total"] == 1
    reused = await client.post("/api/v1/documents", json={**body, "text": "Altro."}, headers=headers)
    assert reused.status_code == 422


async def test_batch_upload_reports_each_file(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    files = [
        ("files", ("a.txt", b"Primo documento di prova.")),
        ("files", ("empty.txt", b"")),
        ("files", ("b.md", b"# Titolo\n\nSecondo documento.")),
    ]
    response = await client.post(
        "/api/v1/documents/batch",
        files=files,
        data={"knowledge_base_id": tenant.default_kb_id},
        headers=tenant.headers,
    )
    assert response.status_code == 207
    results = {r["filename"]: r for r in response.json()["results"]}
    assert (results["a.txt"]["status"], results["b.md"]["status"], results["empty.txt"]["status"]) == (
        202,
        202,
        400,
    )
    assert response.json()["accepted"] == 2
    for name in ("a.txt", "b.md"):
        assert (await wait_for(client, tenant, results[name]["id"]))["status"] == "indexed"


async def test_bad_files_fail_with_a_reason_and_the_worker_keeps_going(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    corrupt = await upload(client, tenant, "broken.pdf", b"%PDF-1.7\n this is not really a pdf")
    bomb_buffer = io.BytesIO()
    with zipfile.ZipFile(bomb_buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../evil.txt", "x")
    evil_zip = await upload(client, tenant, "evil.zip", bomb_buffer.getvalue())
    binary = await upload(client, tenant, "blob.bin", bytes(range(256)) * 64)
    good = await upload(client, tenant, "ok.txt", b"Documento valido dopo quelli rotti.")
    for response in (corrupt, evil_zip, binary):
        document = await wait_for(client, tenant, response.json()["id"])
        assert document["status"] == "failed"
        assert document["error"], "a failed document says why"
    assert (await wait_for(client, tenant, good.json()["id"]))["status"] == "indexed"


async def test_invalid_requests_are_refused_before_anything_is_stored(client: httpx.AsyncClient) -> None:
    tenant, other = await make_tenant(client), await make_tenant(client)
    base = {"knowledge_base_id": tenant.default_kb_id, "title": "x"}
    cases = [
        ({**base}, 422),
        ({**base, "text": "a", "url": "https://example.com"}, 422),
        ({**base, "url": "ftp://example.com/file"}, 422),
        ({**base, "knowledge_base_id": other.default_kb_id, "text": "a"}, 404),
        ({**base, "knowledge_base_id": str(uuid.uuid4()), "text": "a"}, 404),
    ]
    for body, expected in cases:
        assert (
            await client.post("/api/v1/documents", json=body, headers=tenant.headers)
        ).status_code == expected, body
    no_file = await client.post(
        "/api/v1/documents",
        data={"knowledge_base_id": tenant.default_kb_id},
        files={"x": ("a", b"a")},
        headers=tenant.headers,
    )
    assert no_file.status_code == 422
    empty = await upload(client, tenant, "empty.txt", b"")
    assert empty.status_code == 400
    plain = await client.post(
        "/api/v1/documents", content=b"hello", headers={**tenant.headers, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 400
    assert (await client.get("/api/v1/documents", headers=tenant.headers)).json()["total"] == 0


@pytest.fixture
async def small_upload_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path / "s", database_url, UPLOAD_MAX_MB="1"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def test_oversized_uploads_are_413(small_upload_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(small_upload_client)
    response = await upload(small_upload_client, tenant, "big.txt", b"a " * (600 * 1024))
    assert response.status_code == 413
    assert "1 MB" in response.json()["error"]["message"]


async def test_reingest_delete_and_filters(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    created = await upload(client, tenant, "doc.txt", b"Contenuto da reindicizzare.")
    document_id = created.json()["id"]
    await wait_for(client, tenant, document_id)
    again = await client.post(f"/api/v1/documents/{document_id}/reingest", headers=tenant.headers)
    assert again.status_code == 202
    assert (await wait_for(client, tenant, document_id))["version"] == 2
    text_doc = await client.post(
        "/api/v1/documents",
        json={"knowledge_base_id": tenant.default_kb_id, "title": "t", "text": "testo"},
        headers=tenant.headers,
    )
    await wait_for(client, tenant, text_doc.json()["id"])
    by_source = (await client.get("/api/v1/documents?source=api_text", headers=tenant.headers)).json()
    assert [d["id"] for d in by_source["items"]] == [text_doc.json()["id"]]
    by_status = (await client.get("/api/v1/documents?status=indexed&limit=1", headers=tenant.headers)).json()
    assert (by_status["total"], len(by_status["items"])) == (2, 1)
    assert (await client.get("/api/v1/documents?status=bogus", headers=tenant.headers)).status_code == 422
    assert (
        await client.delete(f"/api/v1/documents/{document_id}", headers=tenant.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)).status_code == 404
    assert (
        await client.get(f"/api/v1/documents/{document_id}/chunks", headers=tenant.headers)
    ).status_code == 404


async def test_documents_of_another_tenant_are_invisible(client: httpx.AsyncClient) -> None:
    owner, stranger = await make_tenant(client), await make_tenant(client)
    created = await upload(client, owner, "private.txt", b"Segreto del proprietario.")
    document_id = created.json()["id"]
    for method, path in [
        ("GET", f"/api/v1/documents/{document_id}"),
        ("GET", f"/api/v1/documents/{document_id}/chunks"),
        ("POST", f"/api/v1/documents/{document_id}/reingest"),
        ("DELETE", f"/api/v1/documents/{document_id}"),
    ]:
        assert (await client.request(method, path, headers=stranger.headers)).status_code == 404, path
    assert (await client.get("/api/v1/documents", headers=stranger.headers)).json()["total"] == 0
    reader = await make_tenant(client, scopes=["documents:read"])
    denied = await upload(client, reader, "x.txt", b"x")
    assert denied.status_code == 403


async def test_json_batches_of_text_documents_are_processed_together(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    kb = tenant.default_kb_id
    documents = [
        {
            "knowledge_base_id": kb,
            "title": f"Doc {n}",
            "text": f"Paragrafo numero {n}.",
            "external_id": f"d{n}",
        }
        for n in range(5)
    ]
    documents.append({"knowledge_base_id": str(uuid.uuid4()), "title": "Altrove", "text": "x"})
    documents.append({**documents[0], "text": "Stesso external_id nello stesso lotto."})
    response = await client.post(
        "/api/v1/documents/batch", json={"documents": documents}, headers=tenant.headers
    )
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (5, 2)
    assert [r["status"] for r in body["results"][-2:]] == [404, 409]
    for result in body["results"][:5]:
        assert (await wait_for(client, tenant, result["id"]))["status"] == "indexed"
    again = await client.post(
        "/api/v1/documents/batch", json={"documents": documents[:5]}, headers=tenant.headers
    )
    assert [r["status"] for r in again.json()["results"]] == [200] * 5, "unchanged documents cost nothing"
    too_many = {"documents": documents[:1] * 201}
    assert (
        await client.post("/api/v1/documents/batch", json=too_many, headers=tenant.headers)
    ).status_code == 422


async def test_knowledge_base_overrides_change_chunking_and_language_changes_reindex(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client)
    created = await client.post(
        "/api/v1/knowledge-bases",
        json={
            "name": "Piccoli",
            "language": "simple",
            "settings": {"chunk_max_chars": 200, "chunk_overlap_chars": 0},
        },
        headers=tenant.headers,
    )
    assert created.json()["settings"].items() >= {"chunk_max_chars": 200, "chunk_overlap_chars": 0}.items()
    kb_id = created.json()["id"]
    text_body = " ".join(f"Frase numero {n} sugli uffici comunali aperti." for n in range(30))
    response = await client.post(
        "/api/v1/documents",
        json={"knowledge_base_id": kb_id, "title": "T", "text": text_body},
        headers=tenant.headers,
    )
    document = await wait_for(client, tenant, response.json()["id"])
    assert document["chunk_count"] >= 6, "chunks of at most 200 characters"

    async def italian_hits() -> int:
        async with app.state.database.transaction() as session:
            return int(
                await session.scalar(
                    text(
                        "SELECT count(*) FROM chunks "
                        "WHERE tenant_id = :t AND tsv @@ to_tsquery('italian', 'uffic')"
                    ),
                    {"t": uuid.UUID(tenant.id)},
                )
            )

    assert await italian_hits() == 0, "the 'simple' configuration does not stem"
    patched = await client.patch(
        f"/api/v1/knowledge-bases/{kb_id}", json={"language": "italian"}, headers=tenant.headers
    )
    assert patched.status_code == 200
    assert await italian_hits() == document["chunk_count"]
    bad = await client.patch(
        f"/api/v1/knowledge-bases/{kb_id}", json={"settings": {"chunk_max_chars": 5}}, headers=tenant.headers
    )
    assert bad.status_code == 422


async def test_tenant_overrides_apply_below_knowledge_base_overrides(client: httpx.AsyncClient) -> None:
    from tests.factories import ADMIN

    tenant = await make_tenant(client)
    patched = await client.patch(
        f"/api/v1/tenants/{tenant.id}", json={"settings": {"chunk_max_chars": 200}}, headers=ADMIN
    )
    assert patched.json()["settings"].items() >= {"chunk_max_chars": 200, "chunk_overlap_chars": None}.items()
    body = " ".join(f"Frase numero {n} sugli orari degli uffici." for n in range(30))
    response = await client.post(
        "/api/v1/documents",
        json={"knowledge_base_id": tenant.default_kb_id, "title": "T", "text": body},
        headers=tenant.headers,
    )
    assert (await wait_for(client, tenant, response.json()["id"]))["chunk_count"] >= 6
    refused = await client.patch(
        f"/api/v1/tenants/{tenant.id}", json={"settings": {"chunk_overlap_chars": -1}}, headers=ADMIN
    )
    assert refused.status_code == 422
