"""GET /metrics: Prometheus text with requests by route template, chat, RAG stages, tokens and cost
per tenant, ingestion, queue depth and failed jobs; merged across `cbp serve --workers 2`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatbot_platform.ops import metrics
from tests.chat.served import platforms_for
from tests.ops.apps import app_with
from tests.retrieval.corpora import index_corpus, search

CORPUS = {"tari": ("TARI", "La TARI si paga in due rate, a maggio e a novembre, presso l'ufficio tributi.")}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def test_metrics_cover_requests_rag_chat_tokens_ingestion_and_queues(
    tmp_path: Path, database_url: str
) -> None:
    async for platforms in platforms_for(tmp_path, database_url):
        platform = await platforms.start()
        http = platform.http
        tenant = await platform.tenant(default_language="it")
        ids = await index_corpus(http, tenant, CORPUS)
        before = (await http.get("/metrics")).text
        await search(http, tenant, "quando si paga la TARI")
        await http.get(f"/api/v1/documents/{ids['tari']}", headers=tenant.headers)
        chat = await http.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "Quando si paga la TARI?"}]},
            headers=tenant.headers,
        )
        assert chat.status_code == 200, chat.text
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    search_route = {"method": "POST", "route": "/api/v1/retrieval/search", "status": "200"}
    assert value(text, "cbp_http_requests_total", **search_route) >= 1
    doc_route = {"method": "GET", "route": "/api/v1/documents/{document_id}", "status": "200"}
    assert value(text, "cbp_http_requests_total", **doc_route) >= 1
    assert ids["tari"] not in text, "routes are templates, never raw ids"
    latency = {"method": "POST", "route": "/api/v1/retrieval/search"}
    assert value(text, "cbp_http_request_duration_seconds_count", **latency) >= 1

    rag = {"tenant": tenant.id, "cached": "false"}
    assert value(text, "cbp_rag_queries_total", **rag) - value(before, "cbp_rag_queries_total", **rag) >= 2
    assert value(text, "cbp_rag_stage_duration_seconds_count", stage="rewrite") >= 2
    assert value(text, "cbp_rag_stage_duration_seconds_count", stage="fused") >= 2

    completions = [
        (labels, v) for (name, labels), v in samples(text).items()
        if name == "cbp_chat_completions_total" and ("tenant", tenant.id) in labels
    ]  # fmt: skip
    assert sum(v for _, v in completions) == 1
    [(labels, _)] = completions
    model = dict(labels)["model"]
    prompt = value(text, "cbp_tokens_total", tenant=tenant.id, model=model, kind="prompt")
    completion = value(text, "cbp_tokens_total", tenant=tenant.id, model=model, kind="completion")
    assert prompt > 0
    assert completion > 0
    assert ("cbp_cost_usd_total", frozenset({("tenant", tenant.id), ("model", model)})) in samples(text)
    assert value(text, "cbp_chat_completion_duration_seconds_count", tenant=tenant.id) == 1

    assert value(text, "cbp_ingestion_jobs_total", step="process", result="ok") >= 1
    assert value(text, "cbp_ingestion_documents_total", step="embed") >= 1
    for queue in ("default", "ingestion", "embeddings", "scraping"):
        assert ("cbp_queue_jobs", frozenset({("queue", queue), ("state", "waiting")})) in samples(text)
        assert ("cbp_queue_failed_jobs", frozenset({("queue", queue)})) in samples(text)


def test_scraper_counters_are_exposed_and_workers_serve_their_own() -> None:
    metrics.record_scrape_page("t-1", "ingested", 3)
    metrics.record_scrape_run("t-1", "completed")
    server = metrics.serve_worker_metrics(0)  # what `cbp worker --metrics-port` starts
    try:
        text = httpx.get(f"http://127.0.0.1:{server.server_port}/", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
    assert value(text, "cbp_scrape_pages_total", tenant="t-1", result="ingested") >= 3
    assert value(text, "cbp_scrape_runs_total", tenant="t-1", status="completed") >= 1


async def test_metrics_can_be_disabled_or_guarded(tmp_path: Path, database_url: str) -> None:
    async with app_with(tmp_path, database_url, METRICS_ENABLED="false") as (_, client):
        assert (await client.get("/metrics")).status_code == 404
    async with app_with(tmp_path, database_url, HEALTH_CHECK_SECRET="metrics-secret") as (_, client):
        assert (await client.get("/metrics")).status_code == 401
        assert (
            await client.get("/metrics", headers={"X-Health-Secret": "metrics-secret"})
        ).status_code == 200


# -- several Uvicorn workers ------------------------------------------------------------------------


@pytest.fixture
def served_with_two_workers(tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run_env = {**env, "LOG_LEVEL": "warning", "QUEUE_WORKERS_IN_PROCESS": "false", "ADMIN_TOKEN": "t" * 40}
    command = [sys.executable, "-m", "chatbot_platform.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/up", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("cbp serve --workers 2 did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_metrics_add_up_across_uvicorn_workers(served_with_two_workers: str, env: dict[str, str]) -> None:
    port = served_with_two_workers.rsplit(":", 1)[1]
    folder = Path(env["STORAGE_PATH"]) / "prometheus" / port  # where `cbp serve --workers 2` puts them

    def hit(_: int) -> int:
        # a new connection each time: whichever worker process accepts it serves it
        return httpx.get(
            f"{served_with_two_workers}/up", headers={"Connection": "close"}, timeout=60
        ).status_code

    def counter_pids() -> set[int]:
        return {int(path.stem.split("_")[1]) for path in folder.glob("counter_*.db")}

    def up_count() -> float:
        text = httpx.get(f"{served_with_two_workers}/metrics", timeout=30).text
        return value(text, "cbp_http_requests_total", method="GET", route="/up", status="200")

    before = up_count()
    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(hit, range(8))) == {200}
        sent = 8
        if len(counter_pids()) == 1:
            # One worker took every connection: pause it, so that the other must serve the next ones.
            [busy] = counter_pids()
            os.kill(busy, signal.SIGSTOP)
            try:
                assert set(pool.map(hit, range(4))) == {200}
                sent += 4
            finally:
                # Uvicorn's supervisor may have replaced the paused worker meanwhile: its counts stay
                # in its file, which /metrics still adds up.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(busy, signal.SIGCONT)
    assert len(counter_pids()) >= 2, "both workers served requests"
    assert up_count() - before == sent, "one /metrics answer adds up every worker's requests"
