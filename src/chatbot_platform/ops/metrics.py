"""Prometheus metrics: one registry for the process, merged across Uvicorn workers when
PROMETHEUS_MULTIPROC_DIR is set (`cbp serve --workers N` sets it).

Features call the small `record_*` functions below; they cost a dictionary lookup and never raise.
Queue depth and failed jobs are read from the queues when `/metrics` is scraped.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"

# Metric objects live in the default registry; in multiprocess mode prometheus_client writes their
# values to files in PROMETHEUS_MULTIPROC_DIR and `exposition()` merges the files of every worker.
HTTP_REQUESTS = Counter(
    "cbp_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "cbp_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
CHAT_COMPLETIONS = Counter(
    "cbp_chat_completions_total", "Chat answers by tenant, model and outcome.", ["tenant", "model", "outcome"]
)
CHAT_LATENCY = Histogram(
    "cbp_chat_completion_duration_seconds",
    "Time to a complete chat answer.",
    ["tenant"],
    buckets=LATENCY_BUCKETS,
)
TOKENS = Counter(
    "cbp_tokens_total",
    "LLM tokens by tenant, model and kind (prompt, completion).",
    ["tenant", "model", "kind"],
)
COST = Counter("cbp_cost_usd_total", "Estimated LLM cost in USD by tenant and model.", ["tenant", "model"])
RAG_QUERIES = Counter(
    "cbp_rag_queries_total", "Retrieval queries by tenant and cache use.", ["tenant", "cached"]
)
RAG_STAGE = Histogram(
    "cbp_rag_stage_duration_seconds", "Time spent in each retrieval stage.", ["stage"], buckets=STAGE_BUCKETS
)
INGESTION_JOBS = Counter(
    "cbp_ingestion_jobs_total", "Ingestion jobs by step (process, embed) and result.", ["step", "result"]
)
INGESTION_DOCUMENTS = Counter(
    "cbp_ingestion_documents_total", "Documents handled by ingestion jobs, by step.", ["step"]
)
SCRAPE_PAGES = Counter(
    "cbp_scrape_pages_total", "Pages the scraper handled, by tenant and result.", ["tenant", "result"]
)
SCRAPE_RUNS = Counter(
    "cbp_scrape_runs_total", "Scraper runs finished, by tenant and status.", ["tenant", "status"]
)


def _tenant(tenant_id: uuid.UUID | str | None) -> str:
    return str(tenant_id) if tenant_id is not None else "none"


def record_chat_completion(
    tenant_id: uuid.UUID | str | None,
    *,
    model: str | None,
    outcome: str,
    seconds: float,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> None:
    """One chat answer: its outcome, latency, tokens and estimated cost."""
    try:
        tenant, model_name = _tenant(tenant_id), model or "none"
        CHAT_COMPLETIONS.labels(tenant, model_name, outcome).inc()
        CHAT_LATENCY.labels(tenant).observe(seconds)
        if model is not None:
            record_tokens(
                tenant_id, model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
    except Exception:  # metrics must never break an answer
        log.exception("could not record chat metrics")


def record_tokens(
    tenant_id: uuid.UUID | str | None, *, model: str, prompt_tokens: int, completion_tokens: int
) -> None:
    from chatbot_platform.analytics.pricing import cost

    tenant = _tenant(tenant_id)
    TOKENS.labels(tenant, model, "prompt").inc(max(prompt_tokens, 0))
    TOKENS.labels(tenant, model, "completion").inc(max(completion_tokens, 0))
    COST.labels(tenant, model).inc(float(cost(model, max(prompt_tokens, 0), max(completion_tokens, 0))))


def record_rag_query(
    tenant_id: uuid.UUID | str | None, stages: Iterable[Mapping[str, Any]], *, cached: bool = False
) -> None:
    """One retrieval query and the time of each of its stages (`{"stage": name, "ms": 1.2}`)."""
    try:
        RAG_QUERIES.labels(_tenant(tenant_id), "true" if cached else "false").inc()
        for stage in stages:
            if isinstance(stage.get("ms"), int | float):
                RAG_STAGE.labels(str(stage.get("stage"))).observe(float(stage["ms"]) / 1000)
    except Exception:
        log.exception("could not record retrieval metrics")


@contextmanager
def ingestion_job(step: str, documents: int) -> Iterator[None]:
    """Count an ingestion job (and its documents) as ok or error when the block ends."""
    try:
        yield
    except BaseException:
        record_ingestion(step, "error", documents)
        raise
    record_ingestion(step, "ok", documents)


def record_ingestion(step: str, result: str, documents: int = 0) -> None:
    """An ingestion job finished (`result`: ok or error) over `documents` documents."""
    INGESTION_JOBS.labels(step, result).inc()
    if documents:
        INGESTION_DOCUMENTS.labels(step).inc(documents)


def record_scrape_page(tenant_id: uuid.UUID | str | None, result: str, count: int = 1) -> None:
    """The scraper handled `count` pages with `result` (fetched, ingested, skipped, failed, removed…)."""
    if count > 0:
        SCRAPE_PAGES.labels(_tenant(tenant_id), result).inc(count)


def record_scrape_run(tenant_id: uuid.UUID | str | None, status: str) -> None:
    """A scraper run ended; `status` e.g. completed, failed, cancelled."""
    SCRAPE_RUNS.labels(_tenant(tenant_id), status).inc()


# -- HTTP --------------------------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/documents/{document_id}`), never the raw path,
    so that ids do not multiply the series."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return f"{path}/{{path}}"
    return path or "/"


class MetricsMiddleware:
    """Counts every HTTP request and times it, by route template and status."""

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


# -- exposition --------------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text format of every metric: merged from every worker's files in multiprocess mode."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra is not None:
        body += generate_latest(extra)
    return body


def serve_worker_metrics(port: int, addr: str = "127.0.0.1") -> Any:
    """Expose this process's metrics on http://ADDR:PORT/ (for `cbp worker --metrics-port`: job
    counters live in the worker processes, which serve no HTTP otherwise). Returns the server."""
    from prometheus_client import REGISTRY, start_http_server

    registry: Any = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _ = start_http_server(port, addr=addr, registry=registry)
    return server


def queue_registry(depths: Mapping[str, Mapping[str, int]], failed: Mapping[str, int]) -> CollectorRegistry:
    """Gauges read at scrape time (not per process): jobs per queue and state, failed jobs per queue."""
    registry = CollectorRegistry()
    depth = Gauge("cbp_queue_jobs", "Jobs in each queue by state.", ["queue", "state"], registry=registry)
    failed_gauge = Gauge(
        "cbp_queue_failed_jobs", "Failed jobs not yet retried, per queue.", ["queue"], registry=registry
    )
    for queue, states in depths.items():
        for state, count in states.items():
            depth.labels(queue, state).set(count)
        failed_gauge.labels(queue).set(failed.get(queue, 0))
    return registry


__all__ = ["CONTENT_TYPE_LATEST", "MetricsMiddleware", "exposition", "queue_registry"]
