"""Retrieval quality and speed through the HTTP API, with the shipped defaults.

Quality: each BEIR corpus in ../shared/data is ingested into a fresh platform (`cbp serve`, embedded
PostgreSQL, the default offline multilingual-e5-small) as text documents (external_id = corpus _id),
then every judged query is sent to POST /api/v1/retrieval/search in three modes: the full pipeline,
the full-text leg alone and the vector leg alone. The chunks' vectors come from
bench/.cache/<corpus>-e5.npz (bench/e5_vectors.py: the same model on the same inputs, computed once)
loaded into the tenant's embedding cache before the upload, so ingestion does not spend 40 minutes
recomputing identical vectors; queries are embedded live.

Speed: a knowledge base of N chunks (10k and 100k) is synthesised by replicating squad_it's
paragraphs (one chunk each) with their e5 vectors plus small Gaussian noise (sigma 0.01,
renormalised), written straight into the database (the triggers build the BM25 postings as
ingestion would). Then 4 concurrent clients send 400 of squad_it's questions once each; the
server time excluding the query embedding comes from the trace (total minus embed_query), the
call time from the client.

    python bench/e5_vectors.py squad_it scifact      # once, about 45 minutes
    python bench/retrieval.py                         # quality and speed
    python bench/retrieval.py --sweep                 # also score the fusion-weight candidates
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import write_section  # noqa: E402
from bench.e5_vectors import load as load_vectors  # noqa: E402
from bench.ingest import ADMIN, DATA, corpus, finished, platform_server, send_all  # noqa: E402

from chatbot_platform.retrieval import evaluation  # noqa: E402

MODEL = "multilingual-e5-small"
CORPORA = [("squad_it", "italian"), ("scifact", "english")]
MODES = ("hybrid", "fulltext", "vector")
SPEED_SIZES = (10_000, 100_000)
SPEED_CORPUS, SPEED_LANGUAGE, SPEED_QUERIES = "squad_it", "italian", 400
CLIENTS = 4


async def new_tenant(client: httpx.AsyncClient, language: str) -> tuple[str, str]:
    """A tenant, its key on the client, and a knowledge base: (tenant id, knowledge base id)."""
    admin = {"X-Admin-Token": ADMIN}
    tenant = (
        await client.post("/api/v1/tenants", json={"name": f"Bench {uuid.uuid4().hex[:6]}"}, headers=admin)
    ).json()
    key = (
        await client.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "b"}, headers=admin)
    ).json()
    client.headers["Authorization"] = f"Bearer {key['key']}"
    kb = (await client.post("/api/v1/knowledge-bases", json={"name": "bench", "language": language})).json()
    return tenant["id"], kb["id"]


async def open_database(storage: str) -> Any:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.settings import load_settings

    return await Database.open(load_settings(env_file=None, overrides={"STORAGE_PATH": storage}))


async def seed_cache(storage: str, tenant_id: str, corpus_name: str) -> int:
    from chatbot_platform.ingestion.repository import EmbeddingCacheRepo

    vectors = load_vectors(corpus_name)
    database = await open_database(storage)
    try:
        items = list(vectors.items())
        for start in range(0, len(items), 1000):
            async with database.transaction() as session:
                batch = {h: v.tolist() for h, v in items[start : start + 1000]}
                await EmbeddingCacheRepo(session, uuid.UUID(tenant_id)).store(MODEL, batch)
    finally:
        await database.close()
    return len(vectors)


# -- quality -------------------------------------------------------------------------------------


async def quality(base: str, storage: str, name: str, language: str, sweep: bool) -> list[evaluation.Report]:
    rows = corpus(name, None)
    queries = evaluation.load_queries(DATA / name / "queries.jsonl")
    qrels = evaluation.load_qrels(DATA / name / "qrels.tsv")
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        tenant_id, kb_id = await new_tenant(client, language)
        seeded = await seed_cache(storage, tenant_id, name)
        print(f"  {name}: {seeded} cached vectors; ingesting {len(rows)} documents")
        await send_all(client, kb_id, rows)
        await wait_indexed(client, kb_id, len(rows))
        reports = []
        for mode in MODES:
            reports.append(
                await evaluation.evaluate(f"{name} {mode}", queries, qrels, searcher(client, kb_id, mode))
            )
            print("  " + "  ".join(reports[-1].row()))
        if sweep:
            reports += await fusion_sweep(client, kb_id, name, queries, qrels)
    return reports


async def wait_indexed(client: httpx.AsyncClient, kb_id: str, expected: int) -> None:
    done = 0
    while done < expected:
        await asyncio.sleep(1)
        done = sum(await finished(client, kb_id))


def searcher(client: httpx.AsyncClient, kb_id: str, mode: str) -> evaluation.SearchFn:
    async def run(query: str) -> list[str | None]:
        body = {"query": query, "knowledge_base_ids": [kb_id], "top_k": 10, "mode": mode, "trace": True}
        response = await client.post("/api/v1/retrieval/search", json=body)
        response.raise_for_status()
        return [r["external_id"] for r in response.json()["results"]]

    return run


SWEEP = [
    {"vector_weight": v, "keyword_weight": 1.0, "rerank_vector_share": share, "mmr_lambda": mmr}
    for v in (0.5, 1.0)
    for share in (0.4, 0.5, 0.6)
    for mmr in (0.3,)
]


async def fusion_sweep(
    client: httpx.AsyncClient, kb_id: str, name: str, queries: dict[str, str], qrels: evaluation.Qrels
) -> list[evaluation.Report]:
    """The knowledge base's overrides set to each candidate; every judged query scored each time."""
    reports = []
    for overrides in SWEEP:
        response = await client.patch(f"/api/v1/knowledge-bases/{kb_id}", json={"settings": overrides})
        response.raise_for_status()
        label = f"{name} sweep " + ",".join(f"{k}={v}" for k, v in overrides.items())
        reports.append(await evaluation.evaluate(label, queries, qrels, searcher(client, kb_id, "hybrid")))
        print("  " + "  ".join(reports[-1].row()))
    await client.patch(f"/api/v1/knowledge-bases/{kb_id}", json={"settings": {}})
    return reports


# -- speed ---------------------------------------------------------------------------------------

_INSERT_DOCUMENTS = """
    INSERT INTO documents (id, tenant_id, knowledge_base_id, title, source, status, progress, version,
                           chunk_count, content_hash, external_id, metadata, created_at, updated_at)
    SELECT d.id, CAST(:tenant_id AS uuid), CAST(:kb_id AS uuid), d.title, 'api_text', 'indexed', 100, 1, 1,
           md5(d.title), d.external_id, '{}'::jsonb, now(), now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:titles AS text[]), CAST(:external_ids AS text[]))
         AS d(id, title, external_id)
"""
_INSERT_CHUNKS = """
    INSERT INTO chunks (id, tenant_id, knowledge_base_id, document_id, ordinal, text, heading_path,
                        token_count, content_hash, embedding, embedding_model, embedding_dim, fts_config,
                        tsv, created_at)
    SELECT gen_random_uuid(), CAST(:tenant_id AS uuid), CAST(:kb_id AS uuid), c.document_id, 0, c.body,
           ARRAY[]::text[], length(c.body) / 4, md5(c.body),
           CAST((CAST(:flat AS real[]))[(c.n - 1) * 384 + 1 : c.n * 384] AS vector), :model, 384,
           CAST(:language AS regconfig),
           setweight(to_tsvector(CAST(:language AS regconfig), c.title), 'A')
               || setweight(to_tsvector(CAST(:language AS regconfig), c.body), 'D'),
           now()
    FROM unnest(CAST(:document_ids AS uuid[]), CAST(:titles AS text[]), CAST(:bodies AS text[]))
         WITH ORDINALITY AS c(document_id, title, body, n)
"""


async def synthesise(storage: str, tenant_id: str, kb_id: str, size: int) -> None:
    """`size` chunks: the speed corpus's passages over and over, each copy with a slightly moved vector."""
    from sqlalchemy import text

    rows = corpus(SPEED_CORPUS, None)
    vectors = load_vectors(SPEED_CORPUS)
    from chatbot_platform.ingestion.pipeline import content_hash, embedding_input

    rng = np.random.default_rng(7)
    database = await open_database(storage)
    try:
        for start in range(0, size, 2000):
            picks = [rows[i % len(rows)] for i in range(start, min(size, start + 2000))]
            base = np.stack([_vector_of(vectors, r, rng, content_hash, embedding_input) for r in picks])
            noisy = base + rng.normal(0, 0.01, base.shape).astype(np.float32)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            ids = [uuid.uuid4() for _ in picks]
            titles = [r.get("title") or r["_id"] for r in picks]
            async with database.transaction() as session:
                await session.execute(
                    text(_INSERT_DOCUMENTS),
                    {
                        "tenant_id": tenant_id,
                        "kb_id": kb_id,
                        "ids": ids,
                        "titles": titles,
                        "external_ids": [f"{r['_id']}#{start + n}" for n, r in enumerate(picks)],
                    },
                )
                await session.execute(
                    text(_INSERT_CHUNKS),
                    {
                        "tenant_id": tenant_id,
                        "kb_id": kb_id,
                        "document_ids": ids,
                        "titles": titles,
                        "bodies": [r["text"][:2200] for r in picks],
                        "language": SPEED_LANGUAGE,
                        "model": MODEL,
                        "flat": noisy.astype(np.float32).ravel().tolist(),
                    },
                )
        async with database.transaction() as session:
            await session.execute(text("ANALYZE chunks"))
            await session.execute(text("ANALYZE fts_postings"))
    finally:
        await database.close()


def _vector_of(
    vectors: dict[str, np.ndarray], row: dict[str, str], rng: Any, content_hash: Any, embedding_input: Any
) -> np.ndarray:
    title = row.get("title") or row["_id"]
    found = vectors.get(content_hash(embedding_input(title, [], row["text"][:2200])))
    if found is not None:
        return found
    fallback = rng.normal(0, 1, 384).astype(np.float32)
    return np.asarray(fallback / np.linalg.norm(fallback))


async def existing_kb(client: httpx.AsyncClient, storage: str, size: int) -> str | None:
    """A knowledge base of `size` chunks left by an earlier run in `storage`, with a new key."""
    from sqlalchemy import text

    database = await open_database(storage)
    try:
        async with database.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT tenant_id, knowledge_base_id FROM kb_search_stats WHERE chunk_count = :n"),
                    {"n": size},
                )
            ).first()
    finally:
        await database.close()
    if row is None:
        return None
    admin = {"X-Admin-Token": ADMIN}
    key = (await client.post(f"/api/v1/tenants/{row[0]}/api-keys", json={"name": "b"}, headers=admin)).json()
    client.headers["Authorization"] = f"Bearer {key['key']}"
    return str(row[1])


async def speed(base: str, storage: str, size: int) -> dict[str, float]:
    queries = list(evaluation.load_queries(DATA / SPEED_CORPUS / "queries.jsonl").values())[:SPEED_QUERIES]
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        kb_id = await existing_kb(client, storage, size)
        if kb_id is None:
            tenant_id, kb_id = await new_tenant(client, SPEED_LANGUAGE)
            started = time.perf_counter()
            await synthesise(storage, tenant_id, kb_id, size)
            print(f"  {size} chunks written in {time.perf_counter() - started:.0f} s")
        for warm in queries[:5]:
            await client.post(
                "/api/v1/retrieval/search", json={"query": warm + " warm-up", "knowledge_base_ids": [kb_id]}
            )
        server: list[float] = []
        calls: list[float] = []
        pending = list(queries)

        async def worker() -> None:
            while pending:
                query = pending.pop()
                body = {"query": query, "knowledge_base_ids": [kb_id], "top_k": 10, "trace": True}
                t0 = time.perf_counter()
                response = await client.post("/api/v1/retrieval/search", json=body)
                calls.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
                trace = {s["stage"]: s["ms"] for s in response.json()["trace"]}
                server.append(trace["total"] - trace.get("embed_query", 0.0))

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    figures = {
        "size": size,
        "server_p50": statistics.median(server),
        "server_p95": evaluation.percentile(server, 95),
        "call_p50": statistics.median(calls),
        "call_p95": evaluation.percentile(calls, 95),
    }
    print(
        f"  {size} chunks: retrieval without query embedding p50 {figures['server_p50']:.1f} ms, "
        f"p95 {figures['server_p95']:.1f} ms; whole call p50 {figures['call_p50']:.1f} ms, "
        f"p95 {figures['call_p95']:.1f} ms ({CLIENTS} clients)"
    )
    return figures


# -- report --------------------------------------------------------------------------------------


def report(reports: list[evaluation.Report], speeds: list[dict[str, float]]) -> None:
    lines = ["| " + " | ".join(evaluation.HEADERS) + " |", "|" + "---|" * len(evaluation.HEADERS)]
    lines += ["| " + " | ".join(r.row()) + " |" for r in reports]
    lines += [
        "",
        "Latency above: one client, the whole HTTP call including the query embedding (trace on, cache off).",
        "Targets: squad_it nDCG@10 ≥ 0.87 and scifact ≥ 0.72 (hybrid); full-text leg ≥ 0.84 and ≥ 0.675.",
    ]
    if speeds:
        lines += [
            "",
            f"| chunks | retrieval p50 ms (no query embedding) | p95 "
            f"| whole call p50 ms ({CLIENTS} clients) | p95 |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {int(s['size'])} | {s['server_p50']:.1f} | {s['server_p95']:.1f} | {s['call_p50']:.1f} | "
            f"{s['call_p95']:.1f} |"
            for s in speeds
        ]
        lines += ["", "Targets at 100k chunks: retrieval p95 ≤ 30 ms; whole call p95 ≤ 80 ms with 4 clients."]
    write_section("retrieval", "Retrieval quality and speed (bench/retrieval.py)", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="also score the fusion-weight candidates")
    parser.add_argument("--corpus", choices=[c for c, _ in CORPORA], help="only this corpus")
    parser.add_argument("--sizes", default=",".join(map(str, SPEED_SIZES)))
    parser.add_argument(
        "--reuse",
        type=lambda v: {int(k): p for k, p in (i.split("=", 1) for i in v.split(","))},
        default={},
        help="SIZE=STORAGE,...: measure the knowledge bases an earlier run left there",
    )
    args = parser.parse_args()
    reports: list[evaluation.Report] = []
    speeds: list[dict[str, float]] = []
    if not args.speed_only:
        storage = tempfile.mkdtemp(prefix="cbp-bench-retrieval-")
        with platform_server({}, storage) as base:
            for name, language in CORPORA:
                if args.corpus in (None, name):
                    reports += asyncio.run(quality(base, storage, name, language, args.sweep))
    if not args.quality_only:
        for size in (int(s) for s in args.sizes.split(",")):
            storage = args.reuse.get(size) or tempfile.mkdtemp(prefix="cbp-bench-retrieval-speed-")
            with platform_server({}, storage) as base:
                speeds.append(asyncio.run(speed(base, storage, size)))
    report(reports, speeds)


if __name__ == "__main__":
    main()
