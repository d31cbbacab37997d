"""pgvector store: upsert rates, and top-50 search latency and recall with and without other tenants' rows.

For each size N: one tenant's N random unit vectors (dim 384, served by the partial HNSW index)
are searched alone; then N rows of ten other tenants and a 1,000-row tenant are added and both
tenants are searched again. Recall@50 is measured against an exact numpy search of the tenant's
own vectors. `--data topics` (the default) scatters vectors around 1,000 random topic directions,
as embeddings of real passages cluster; `--data uniform` draws them uniformly on the sphere, where
nearest neighbours are barely nearer than anything else: HNSW's worst case, and no guide to
recall on real embeddings.

Bulk loads go through `PgVectorStore.upsert` with the HNSW index dropped and then rebuilt from its
own definition (`pg_get_indexdef`), as one would load a large corpus: maintaining the graph row by
row is what limits the upsert rate, and that rate is measured separately, on the 1,000-row
tenant written while the index over all 2N rows is in place.

    .venv/bin/python bench/vector_store.py [--sizes 10000 100000] [--queries 200] [--data topics]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import text

from chatbot_platform.kit import migrations
from chatbot_platform.kit.db import Database
from chatbot_platform.kit.embedded_pg import EmbeddedPostgres
from chatbot_platform.retrieval.stores.base import VectorRecord
from chatbot_platform.retrieval.stores.pgvector import PgVectorStore
from chatbot_platform.settings import load_settings

DIM = 384
TOP_K = 50
MODEL = "bench-model"
OTHER_TENANTS = 10
SMALL_TENANT = 1000
UPSERT_CHUNK = 5000
TOPICS = 1000
SPREAD = 1.2  # a passage's cosine to its topic is about 0.64
WARM_UP = 10
INDEX = "ix_chunks_embedding_hnsw_384"

_INDEX_DEF = text(f"SELECT pg_get_indexdef('{INDEX}'::regclass)")

_CREATE_TENANT = text(
    """
    WITH t AS (INSERT INTO tenants (id, name, slug, plan, default_language, settings)
               VALUES (:tenant_id, :slug, :slug, 'free', 'en', '{}')),
         kb AS (INSERT INTO knowledge_bases (id, tenant_id, name, description, language, is_default, settings)
                VALUES (:kb_id, :tenant_id, 'kb', '', 'english', true, '{}'))
    INSERT INTO documents (id, tenant_id, knowledge_base_id, title, source, status, progress, version,
                           chunk_count, metadata)
    VALUES (:doc_id, :tenant_id, :kb_id, 'doc', 'api_text', 'indexed', 100, 1, 0, '{}')
    """
)
_CREATE_CHUNKS = text(
    """
    INSERT INTO chunks (id, tenant_id, knowledge_base_id, document_id, ordinal, text, heading_path,
                        token_count, content_hash, fts_config)
    SELECT gen_random_uuid(), :tenant_id, :kb_id, :doc_id, g, 'chunk ' || g, '{}', 0, md5(g::text), 'simple'
    FROM generate_series(1, :n) AS g
    RETURNING id
    """
)


@dataclass
class Tenant:
    tenant_id: uuid.UUID
    kb_id: uuid.UUID
    vectors: np.ndarray
    chunk_ids: list[uuid.UUID]


def normalised(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


class VectorSource:
    """Random unit vectors: uniform (HNSW's worst case) or scattered around topics, as embeddings are."""

    def __init__(self, kind: str, rng: np.random.Generator) -> None:
        self.kind, self.rng = kind, rng
        self.topics = normalised(rng.standard_normal((TOPICS, DIM)))

    def draw(self, n: int) -> np.ndarray:
        noise = normalised(self.rng.standard_normal((n, DIM)))
        if self.kind == "uniform":
            return noise
        return normalised(self.topics[self.rng.integers(0, TOPICS, n)] + SPREAD * noise)


async def create_tenant(database: Database, n: int, source: VectorSource) -> Tenant:
    """The tenant, its knowledge base, one document and `n` chunk rows in bulk (no vectors yet)."""
    ids = {"tenant_id": uuid.uuid4(), "kb_id": uuid.uuid4(), "doc_id": uuid.uuid4()}
    async with database.engine.begin() as conn:
        await conn.execute(_CREATE_TENANT, {**ids, "slug": f"bench-{ids['tenant_id'].hex[:12]}"})
        chunk_ids = list((await conn.execute(_CREATE_CHUNKS, {**ids, "n": n})).scalars())
    return Tenant(ids["tenant_id"], ids["kb_id"], source.draw(n), chunk_ids)


async def upsert(store: PgVectorStore, tenant: Tenant) -> float:
    """Rows per second."""
    doc_id = uuid.uuid4()  # the store matches on chunk and tenant ids only
    started = time.perf_counter()
    for start in range(0, len(tenant.chunk_ids), UPSERT_CHUNK):
        records = [
            VectorRecord(chunk_id, tenant.tenant_id, tenant.kb_id, doc_id, vector.tolist())
            for chunk_id, vector in zip(
                tenant.chunk_ids[start : start + UPSERT_CHUNK],
                tenant.vectors[start : start + UPSERT_CHUNK],
                strict=True,
            )
        ]
        await store.upsert(records, model=MODEL)
    return len(tenant.chunk_ids) / (time.perf_counter() - started)


async def vacuum_analyze(database: Database) -> None:
    async with database.engine.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
            text("VACUUM ANALYZE chunks")
        )


async def drop_index(database: Database) -> str:
    """Drop the 384-d HNSW index and return its definition."""
    async with database.engine.begin() as conn:
        definition = (await conn.execute(_INDEX_DEF)).scalar_one()
        await conn.execute(text(f"DROP INDEX {INDEX}"))
    return str(definition)


async def build_index(database: Database, definition: str) -> float:
    """Seconds to rebuild the index."""
    started = time.perf_counter()
    async with database.engine.begin() as conn:
        await conn.execute(text("SET LOCAL maintenance_work_mem = '2GB'"))
        await conn.execute(text(definition))
    elapsed = time.perf_counter() - started
    await vacuum_analyze(database)
    return elapsed


async def measure(store: PgVectorStore, tenant: Tenant, queries: np.ndarray) -> tuple[float, float, float]:
    """p50 and p95 latency in ms, and mean recall@TOP_K against exact search."""
    for query in queries[:WARM_UP]:
        await store.search(tenant.tenant_id, [tenant.kb_id], query.tolist(), model=MODEL, top_k=TOP_K)
    latencies, recalls = [], []
    for query in queries:
        started = time.perf_counter()
        hits = await store.search(tenant.tenant_id, [tenant.kb_id], query.tolist(), model=MODEL, top_k=TOP_K)
        latencies.append((time.perf_counter() - started) * 1000)
        exact = np.argsort(-(tenant.vectors @ query))[:TOP_K]
        expected = {tenant.chunk_ids[i] for i in exact}
        recalls.append(len(expected & {hit.chunk_id for hit in hits}) / len(expected))
    cuts = statistics.quantiles(latencies, n=20)
    return statistics.median(latencies), cuts[18], statistics.fmean(recalls)


def report(label: str, figures: tuple[float, float, float]) -> None:
    p50, p95, recall = figures
    print(f"  {label:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   recall@{TOP_K} {recall:.3f}")


async def run_size(database: Database, n: int, queries: int, source: VectorSource) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("TRUNCATE tenants CASCADE"))
    store = PgVectorStore(database)
    query_vectors = source.draw(queries)
    print(f"N = {n:,}")
    definition = await drop_index(database)
    ours = await create_tenant(database, n, source)
    print(f"  upsert, HNSW index dropped                   {await upsert(store, ours):9,.0f} rows/s")
    print(f"  HNSW build over {n:,} rows                   {await build_index(database, definition):9.1f} s")
    report(f"one tenant, {n:,} rows", await measure(store, ours, query_vectors))
    await drop_index(database)
    for _ in range(OTHER_TENANTS):
        await upsert(store, await create_tenant(database, n // OTHER_TENANTS, source))
    print(
        f"  HNSW build over {2 * n:,} rows                   {await build_index(database, definition):9.1f} s"
    )
    small = await create_tenant(database, SMALL_TENANT, source)
    print(f"  upsert, HNSW maintained over {2 * n:,} rows   {await upsert(store, small):9,.0f} rows/s")
    await vacuum_analyze(database)
    report(
        f"same tenant + {n:,} rows of {OTHER_TENANTS} other tenants",
        await measure(store, ours, query_vectors),
    )
    report(
        f"a {SMALL_TENANT:,}-row tenant among {2 * n + SMALL_TENANT:,} rows",
        await measure(store, small, query_vectors),
    )


async def main(sizes: list[int], queries: int, data: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cbp-bench-") as folder:
        server = EmbeddedPostgres(Path(folder))
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(server.ensure_database)
        settings = load_settings(
            env_file=None,
            overrides={"STORAGE_PATH": folder, "APP_ENV": "testing", "LOG_SLOW_QUERIES": "false"},
        )
        database = await Database.open(settings, url=server.url())
        try:
            await migrations.upgrade(database)
            print(
                f"pgvector store, dim {DIM}, top_k {TOP_K}, {queries} queries per line, {os.cpu_count()} CPUs"
            )
            for n in sizes:
                await run_size(database, n, queries, VectorSource(data, np.random.default_rng(n)))
        finally:
            await database.close()
            await asyncio.to_thread(server.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", choices=["topics", "uniform"], default="topics")
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.queries, args.data))
