"""PostgreSQL stopped and started again under traffic: requests fail cleanly (503 with the error
envelope, promptly), and the same platform process recovers on its own: reads, writes and jobs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.factories import make_tenant
from tests.fixtures.database import DatabaseCluster


def stop_server(databases: DatabaseCluster) -> None:
    databases.server._server.stop()  # pg_ctl stop (fast): every client connection is cut


def start_server(databases: DatabaseCluster) -> None:
    server = databases.server._server
    with server._lock:
        server.ensure_postgres_running()  # same data folder and socket: the same URL as before


async def traffic(client: httpx.AsyncClient, headers: dict[str, str], kb_id: str) -> list[httpx.Response]:
    search = {"query": "orari dello sportello", "knowledge_base_ids": [kb_id]}
    return list(
        await asyncio.gather(
            client.get("/api/v1/knowledge-bases", headers=headers),
            client.get(f"/api/v1/knowledge-bases/{kb_id}", headers=headers),
            client.post("/api/v1/retrieval/search", json=search, headers=headers),
            client.post(
                "/api/v1/documents",
                json={"knowledge_base_id": kb_id, "title": "Durante il guasto", "text": "Testo."},
                headers=headers,
            ),
        )
    )


async def wait_indexed(
    client: httpx.AsyncClient, headers: dict[str, str], document_id: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = (await client.get(f"/api/v1/documents/{document_id}", headers=headers)).json()
        if body["status"] in ("indexed", "failed"):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"document not indexed: {body}")


async def test_postgres_restart_answers_503_then_recovers_without_restarting_the_platform(
    client: httpx.AsyncClient, databases: DatabaseCluster
) -> None:
    tenant = await make_tenant(client)
    headers, kb_id = tenant.headers, tenant.default_kb_id
    before = await traffic(client, headers, kb_id)
    assert [r.status_code for r in before] == [200, 200, 200, 202], [r.text for r in before]

    await asyncio.to_thread(stop_server, databases)
    try:
        for _ in range(3):
            started = time.monotonic()
            during = await asyncio.wait_for(traffic(client, headers, kb_id), timeout=30)
            assert time.monotonic() - started < 30
            for response in during:
                assert response.status_code == 503, (
                    response.request.url,
                    response.status_code,
                    response.text,
                )
                assert response.headers.get("retry-after")
                error = response.json()["error"]
                assert error["request_id"]
                assert "asyncpg" not in error["message"].lower()
                assert "sqlalchemy" not in response.text.lower()
                assert "traceback" not in response.text.lower()
            health = await client.get("/health")
            assert health.status_code == 503
            assert health.json()["checks"]["database"]["ok"] is False
    finally:
        await asyncio.to_thread(start_server, databases)

    # The pool reconnects; no restart of the app: reads, writes, and the in-process queue workers.
    deadline = time.monotonic() + 30
    while True:
        after = await traffic(client, headers, kb_id)
        if [r.status_code for r in after] == [200, 200, 200, 202] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert [r.status_code for r in after] == [200, 200, 200, 202], [r.text for r in after]
    assert (await client.get("/health")).status_code == 200
    document = await wait_indexed(client, headers, after[3].json()["id"])
    assert document["status"] == "indexed", document
    listed = await client.get("/api/v1/documents", params={"knowledge_base_id": kb_id}, headers=headers)
    titles = sorted(d["title"] for d in listed.json()["items"])
    assert titles == ["Durante il guasto", "Durante il guasto"]  # before + after; none from the outage
