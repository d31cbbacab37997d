"""pgvector specifics: the partial HNSW indexes are usable, and filtered HNSW scans still fill top_k."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from chatbot_platform.kit.db import Database
from chatbot_platform.retrieval.stores.base import VectorRecord
from chatbot_platform.retrieval.stores.pgvector import PgVectorStore, search_sql
from tests.retrieval.stores.conftest import Corpus, unit_vectors

MODEL = "multilingual-e5-small"


async def _prefer_ordered_index_scans(database: Database) -> None:
    """Make the planner avoid sorts in this test's database, so it picks an HNSW scan when it can."""
    async with database.engine.begin() as conn:
        name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
        await conn.execute(text(f'ALTER DATABASE "{name}" SET enable_sort = off'))
    await database.engine.dispose()


async def _plan(database: Database, dim: int) -> str:
    params = {
        "tenant_id": uuid.uuid4(),
        "kb_ids": [uuid.uuid4()],
        "model": MODEL,
        "query": [1.0] * dim,
        "top_k": 10,
    }
    async with database.engine.connect() as conn:
        rows = (await conn.execute(text("EXPLAIN " + search_sql(dim)), params)).all()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("dim", "index"), [(384, "ix_chunks_embedding_hnsw_384"), (1536, "ix_chunks_embedding_hnsw_1536")]
)
async def test_search_can_use_the_partial_hnsw_index_of_its_dimension(
    pgvector_store: tuple[PgVectorStore, Corpus], dim: int, index: str
) -> None:
    database = pgvector_store[1].database
    assert database is not None
    await _prefer_ordered_index_scans(database)

    assert index in await _plan(database, dim)
    assert "hnsw" not in await _plan(database, 8)


async def test_a_filtered_hnsw_scan_keeps_going_until_top_k_of_ours(
    pgvector_store: tuple[PgVectorStore, Corpus],
) -> None:
    store, corpus = pgvector_store
    assert corpus.database is not None
    query = unit_vectors(1, 384, seed=1)[0]
    crowd = 0.7 * query + 0.3 * unit_vectors(2000, 384, seed=2)
    await store.upsert(await corpus.records(await corpus.scope(), crowd), model=MODEL)
    ours = await corpus.scope()
    mine = await corpus.records(ours, unit_vectors(20, 384, seed=3))
    await store.upsert(mine, model=MODEL)
    await _prefer_ordered_index_scans(corpus.database)
    assert "ix_chunks_embedding_hnsw_384" in await _plan(corpus.database, 384)

    hits = await store.search(ours.tenant_id, [ours.knowledge_base_id], query.tolist(), model=MODEL, top_k=10)

    assert len(hits) == 10
    assert {hit.chunk_id for hit in hits} <= {r.chunk_id for r in mine}

    # More candidates than the connection's default ef_search: the search raises it in a transaction.
    wide = await store.search(ours.tenant_id, [ours.knowledge_base_id], query.tolist(), model=MODEL, top_k=60)
    assert {hit.chunk_id for hit in wide} == {r.chunk_id for r in mine}


async def test_upsert_never_writes_a_chunk_of_another_tenant(
    pgvector_store: tuple[PgVectorStore, Corpus],
) -> None:
    store, corpus = pgvector_store
    scope = await corpus.scope()
    [record] = await corpus.records(scope, unit_vectors(1, 8, seed=4))
    intruder = VectorRecord(
        record.chunk_id, uuid.uuid4(), scope.knowledge_base_id, scope.document_id, record.vector
    )

    await store.upsert([intruder], model=MODEL)

    assert await store.chunk_ids(scope.tenant_id) == set()


def test_the_dimension_is_only_ever_an_int() -> None:
    with pytest.raises(ValueError, match="dimension"):
        search_sql("384) OR (1=1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimension"):
        search_sql(0)
