"""The pgvector store: vectors live on the `chunks` rows themselves.

Chunk rows are created and deleted by ingestion; this store only writes and clears the
`embedding`, `embedding_model` and `embedding_dim` columns. `delete_*` therefore set them to
NULL (the row, its text and its full-text vector stay), and `upsert` skips chunk ids that have
no row for that tenant.

The column has no fixed dimension, so every query casts it to `vector(d)`. `d` is written into
the SQL as a literal (an int checked here, never user text): the partial HNSW indexes
`ix_chunks_embedding_hnsw_{384,1536}` are only chosen when the planner sees `embedding_dim = 384`
with a constant, which a bound parameter (generic plan) would not give it. Other dimensions are
searched exactly.

A chunk row holds one vector, so a tenant's change of embedding model cannot stage the new
vectors beside the old ones: `stage` does nothing, and `switch` rewrites every chunk of the
tenant from the embedding cache (which the switch job filled with the new model's vectors) in
the very transaction that changes the tenant's model, clearing the vectors of chunks the cache
lacks (ingested meanwhile; the job re-queues their documents). Readers see all old vectors
before that commit and only new ones after it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from chatbot_platform.kit.db import DEFAULT_EF_SEARCH, Database
from chatbot_platform.retrieval.stores.base import StoredVector, VectorHit, VectorRecord

log = logging.getLogger(__name__)

MAX_DIMENSIONS = 16000  # pgvector's limit for `vector`
MAX_EF_SEARCH = 1000  # pgvector's limit for hnsw.ef_search
UPSERT_BATCH = 1000

# The vectors travel as one flat float4[] (binary, encoded in C by asyncpg) and are sliced per row:
# formatting thousands of floats as text in Python was the slowest part of ingestion.
_UPSERT = text(
    """
    UPDATE chunks AS c
    SET embedding = CAST((CAST(:flat AS real[]))[(v.n - 1) * CAST(:dim AS int) + 1 : v.n * CAST(:dim AS int)]
                         AS vector),
        embedding_model = :model,
        embedding_dim = :dim
    FROM unnest(CAST(:ids AS uuid[]), CAST(:tenant_ids AS uuid[])) WITH ORDINALITY AS v(id, tenant_id, n)
    WHERE c.id = v.id AND c.tenant_id = v.tenant_id
    """
)
_CLEAR_DOCUMENTS = text(
    """
    UPDATE chunks SET embedding = NULL, embedding_model = NULL, embedding_dim = NULL
    WHERE tenant_id = :tenant_id AND document_id = ANY(CAST(:ids AS uuid[])) AND embedding IS NOT NULL
    """
)
_CLEAR_CHUNKS = text(
    """
    UPDATE chunks SET embedding = NULL, embedding_model = NULL, embedding_dim = NULL
    WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[])) AND embedding IS NOT NULL
    """
)
_CHUNK_IDS = text(
    """
    SELECT id FROM chunks
    WHERE tenant_id = :tenant_id AND embedding IS NOT NULL
      AND (CAST(:document_ids AS uuid[]) IS NULL OR document_id = ANY(CAST(:document_ids AS uuid[])))
      AND (CAST(:model AS text) IS NULL OR embedding_model = CAST(:model AS text))
    """
)
_SWITCH_FROM_CACHE = text(
    """
    UPDATE chunks AS c
    SET embedding = e.vector, embedding_model = e.model, embedding_dim = vector_dims(e.vector)
    FROM embedding_cache AS e
    WHERE c.tenant_id = :tenant_id AND e.tenant_id = :tenant_id AND e.model = :model
      AND e.content_hash = c.content_hash AND c.embedding_model IS DISTINCT FROM :model
    """
)
_PRUNE = text(
    """
    UPDATE chunks SET embedding = NULL, embedding_model = NULL, embedding_dim = NULL
    WHERE tenant_id = :tenant_id AND embedding IS NOT NULL
      AND embedding_model <> ALL(CAST(:keep AS text[]))
    """
)
# vector_send: pgvector's binary form (int16 dimension, int16 unused, big-endian float4s), read
# straight into an array.
_VECTORS = text(
    """
    SELECT id, vector_send(embedding) AS vector FROM chunks
    WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[])) AND embedding_model = :model
    """
)
# Iterative scans (relaxed_order) and the default ef_search are set on every connection at connect
# (kit/db.py `connect_args`); a search that needs more candidates raises ef_search in its transaction.
_SET_EF_SEARCH = text("SELECT set_config('hnsw.ef_search', :ef_search, true)")
# relaxed_order may return the index's candidates slightly out of order: the outer query sorts
# them again by their exact distance (the pattern pgvector documents for iterative scans).
_SEARCH_TEMPLATE = """
    WITH candidates AS MATERIALIZED (
        SELECT id, document_id, knowledge_base_id,
               (embedding::vector({dim})) <=> CAST(CAST(:query AS real[]) AS vector({dim})) AS distance
        FROM chunks
        WHERE tenant_id = :tenant_id
          AND knowledge_base_id = ANY(CAST(:kb_ids AS uuid[]))
          AND embedding_dim = {dim}
          AND embedding_model = :model
        ORDER BY distance
        LIMIT :top_k
    )
    SELECT id, document_id, knowledge_base_id, 1 - distance AS score
    FROM candidates
    ORDER BY distance, id
"""


def from_vector_send(data: bytes) -> StoredVector:
    """A vector from pgvector's binary form: 4 header bytes, then big-endian float4s."""
    return np.frombuffer(data, dtype=">f4", offset=4).astype(np.float32)


def checked_dimension(vector: Sequence[float]) -> int:
    dim = len(vector)
    if not 1 <= dim <= MAX_DIMENSIONS:
        raise ValueError(f"vector dimension must be between 1 and {MAX_DIMENSIONS}, got {dim}")
    return dim


def search_sql(dim: int) -> str:
    if type(dim) is not int or not 1 <= dim <= MAX_DIMENSIONS:
        raise ValueError(f"invalid vector dimension {dim!r}")
    return _SEARCH_TEMPLATE.format(dim=dim)


def ef_search(top_k: int) -> int:
    return min(max(top_k * 2, DEFAULT_EF_SEARCH), MAX_EF_SEARCH)


def _batches(records: Sequence[VectorRecord], size: int) -> Iterator[Sequence[VectorRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


class PgVectorStore:
    """Vectors in `chunks.embedding`, searched with the partial HNSW indexes."""

    name = "pgvector"

    def __init__(self, database: Database) -> None:
        self._database = database

    async def upsert(self, records: Sequence[VectorRecord], *, model: str) -> None:
        if not records:
            return
        dim = checked_dimension(records[0].vector)
        if any(len(r.vector) != dim for r in records):
            raise ValueError("all vectors of one upsert must have the same dimension")
        updated = 0
        async with self._database.engine.begin() as conn:
            for batch in _batches(records, UPSERT_BATCH):
                updated += await self._update_batch(conn, batch, model=model, dim=dim)
        if updated < len(records):
            log.warning("vectors for missing chunks skipped", extra={"skipped": len(records) - updated})

    @staticmethod
    async def _update_batch(
        conn: AsyncConnection, batch: Sequence[VectorRecord], *, model: str, dim: int
    ) -> int:
        result = await conn.execute(
            _UPSERT,
            {
                "model": model,
                "dim": dim,
                "ids": [r.chunk_id for r in batch],
                "tenant_ids": [r.tenant_id for r in batch],
                "flat": [float(x) for r in batch for x in r.vector],
            },
        )
        return result.rowcount

    async def search(
        self,
        tenant_id: uuid.UUID,
        knowledge_base_ids: Sequence[uuid.UUID],
        vector: Sequence[float],
        *,
        model: str,
        top_k: int,
    ) -> list[VectorHit]:
        if not knowledge_base_ids or top_k < 1:
            return []
        dim = checked_dimension(vector)
        params = {
            "tenant_id": tenant_id,
            "kb_ids": list(knowledge_base_ids),
            "model": model,
            "query": [float(x) for x in vector],  # float4[] in binary: no number formatting
            "top_k": top_k,
        }
        rows = await self._nearest(text(search_sql(dim)), params, ef_search(top_k))
        return [
            VectorHit(
                chunk_id=row.id,
                document_id=row.document_id,
                knowledge_base_id=row.knowledge_base_id,
                score=float(row.score),
            )
            for row in rows
        ]

    async def delete_documents(self, tenant_id: uuid.UUID, document_ids: Sequence[uuid.UUID]) -> None:
        """Clear the vectors of these documents' chunks (the chunk rows belong to ingestion)."""
        await self._clear(_CLEAR_DOCUMENTS, tenant_id, document_ids)

    async def delete_chunks(self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID]) -> None:
        """Clear the vectors of these chunks (the chunk rows belong to ingestion)."""
        await self._clear(_CLEAR_CHUNKS, tenant_id, chunk_ids)

    async def _clear(self, statement: TextClause, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
        if not ids:
            return
        async with self._database.engine.begin() as conn:
            await conn.execute(statement, {"tenant_id": tenant_id, "ids": list(ids)})

    async def chunk_ids(
        self,
        tenant_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID] | None = None,
        *,
        model: str | None = None,
    ) -> set[uuid.UUID]:
        ids = list(document_ids) if document_ids is not None else None
        params = {"tenant_id": tenant_id, "document_ids": ids, "model": model}
        async with self._database.reader() as conn:
            return {row.id for row in await conn.execute(_CHUNK_IDS, params)}

    async def stage(self, records: Sequence[VectorRecord], *, model: str) -> None:
        """Nothing to write yet: `switch` takes the new vectors from the embedding cache."""

    async def switch(self, session: AsyncSession, tenant_id: uuid.UUID, model: str) -> None:
        """Every chunk of the tenant gets its cached `model` vector, or none, in `session`'s transaction."""
        await session.execute(_SWITCH_FROM_CACHE, {"tenant_id": tenant_id, "model": model})
        await session.execute(_PRUNE, {"tenant_id": tenant_id, "keep": [model]})

    async def prune_models(self, tenant_id: uuid.UUID, keep: Sequence[str]) -> None:
        async with self._database.engine.begin() as conn:
            await conn.execute(_PRUNE, {"tenant_id": tenant_id, "keep": list(keep)})

    async def vectors(
        self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID], *, model: str
    ) -> dict[uuid.UUID, StoredVector]:
        if not chunk_ids:
            return {}
        params = {"tenant_id": tenant_id, "ids": list(chunk_ids), "model": model}
        async with self._database.reader() as conn:
            return {row.id: from_vector_send(row.vector) for row in await conn.execute(_VECTORS, params)}

    async def _nearest(self, statement: TextClause, params: dict[str, Any], ef: int) -> list[Any]:
        """One read when the connection's default ef_search is enough; else in a transaction that
        raises it for this search only."""
        if ef == DEFAULT_EF_SEARCH:
            async with self._database.reader() as conn:
                return list((await conn.execute(statement, params)).all())
        async with self._database.engine.begin() as conn:
            await conn.execute(_SET_EF_SEARCH, {"ef_search": str(ef)})
            return list((await conn.execute(statement, params)).all())

    async def close(self) -> None:
        """Nothing to release: the database belongs to the application."""
