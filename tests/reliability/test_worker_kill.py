"""A worker killed with SIGKILL in the middle of ingesting a document: after a new worker starts, the
document is indexed exactly once, with no duplicate chunks or vectors (counted in the database)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.reliability.processes import fetch, platform_env, start_worker, stop

# Small chunks, so that a document spans two embedding batches (64 chunks each) and the worker can
# be killed after the first batch's vectors are saved and before the second's.
CHUNKING = {"RAG_CHUNK_MAX_CHARS": "300", "RAG_CHUNK_OVERLAP_CHARS": "0"}
PARAGRAPH = (
    "Il servizio numero {n} del comune spiega come presentare la domanda {n}, quali documenti "
    "portare allo sportello, quanto costa il bollo e come prenotare un appuntamento online."
)
TEXT = "\n\n".join(f"## Sezione {n}\n\n" + PARAGRAPH.format(n=n) for n in range(110))


@pytest.fixture
async def api(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The web app in this process with no workers: only the `cbp worker` processes run jobs."""
    settings = make_settings(tmp_path / "storage", database_url, QUEUE_WORKERS_IN_PROCESS="false", **CHUNKING)
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def status_of(api: httpx.AsyncClient, headers: dict[str, str], document_id: str) -> dict[str, object]:
    response = await api.get(f"/api/v1/documents/{document_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_sigkilled_worker_mid_ingestion_completes_exactly_once_after_restart(
    api: httpx.AsyncClient, tmp_path: Path, database_url: str
) -> None:
    tenant = await make_tenant(api)
    env = platform_env(database_url, tmp_path / "storage", QUEUE_WORKERS_IN_PROCESS="false", **CHUNKING)
    log = tmp_path / "worker.log"
    first = start_worker(env, log)
    try:
        created = await api.post(
            "/api/v1/documents",
            json={"knowledge_base_id": tenant.default_kb_id, "title": "Guida ai servizi", "text": TEXT},
            headers=tenant.headers,
        )
        assert created.status_code in (201, 202), created.text
        document_id = created.json()["id"]

        killed_in: dict[str, object] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            body = await status_of(api, tenant.headers, document_id)
            # Chunks written, the first batch of vectors saved, the second being computed: the worst moment.
            if body["status"] == "embedding" and int(str(body["progress"])) > 40:
                killed_in = body
                first.send_signal(signal.SIGKILL)
                first.wait(10)
                break
            assert body["status"] != "indexed", "the document was indexed before the worker could be killed"
            await asyncio.sleep(0.05)
        assert killed_in, f"the worker never reached the embedding stage; its log: {log.read_text()[-2000:]}"
        assert first.returncode == -signal.SIGKILL
        await asyncio.sleep(1)
        assert (await status_of(api, tenant.headers, document_id))[
            "status"
        ] == "embedding"  # nobody works on it

        second = start_worker(env, log)
        try:
            # The new worker's sweeper finds the dead worker's job once its heartbeat is stale (30 s).
            deadline = time.monotonic() + 110
            while time.monotonic() < deadline:
                body = await status_of(api, tenant.headers, document_id)
                if body["status"] in ("indexed", "failed"):
                    break
                await asyncio.sleep(0.5)
            if body["status"] != "indexed":
                jobs = await fetch(database_url, "SELECT key, queue, status, job FROM saq_jobs")
                raise AssertionError((body, [dict(r) for r in jobs], log.read_text()[-3000:]))
        finally:
            stop(second)
    finally:
        stop(first)

    rows = await fetch(
        database_url,
        "SELECT count(*) AS chunks, count(DISTINCT ordinal) AS ordinals, min(ordinal) AS lo,"
        " max(ordinal) AS hi, count(embedding) AS vectors, count(tsv) AS indexed"
        " FROM chunks WHERE document_id = $1::uuid",
        document_id,
    )
    counts = rows[0]
    assert counts["chunks"] == body["chunk_count"] > 64
    assert counts["ordinals"] == counts["chunks"], "duplicate chunks"
    assert (counts["lo"], counts["hi"]) == (0, counts["chunks"] - 1)
    assert counts["vectors"] == counts["chunks"], "chunks without a vector, or vectors counted twice"
    assert counts["indexed"] == counts["chunks"]
    documents = await fetch(
        database_url, "SELECT count(*) AS n FROM documents WHERE title = 'Guida ai servizi'"
    )
    assert documents[0]["n"] == 1
    # Full-text postings are maintained by triggers on chunks: a duplicate would show up here too.
    postings = await fetch(
        database_url,
        "SELECT count(*) AS n FROM (SELECT chunk_id, term FROM fts_postings p"
        " JOIN chunks c ON c.id = p.chunk_id"
        " WHERE c.document_id = $1::uuid GROUP BY chunk_id, term HAVING count(*) > 1) AS dup",
        document_id,
    )
    assert postings[0]["n"] == 0
