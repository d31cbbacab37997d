from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text, tuple_

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import CachedEmbedding, Chunk, Document

_UPDATE_EACH = """
    UPDATE documents AS d SET {assignments}, updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), {arrays}) AS v(id, {names})
    WHERE d.tenant_id = :tenant_id AND d.id = v.id
"""
_COLUMN_TYPES = {"chunk_count": "int", "progress": "int", "status": "varchar"}


class DocumentRepo(TenantRepository[Document]):
    model = Document

    async def by_external_ids(
        self, keys: Sequence[tuple[uuid.UUID, str]]
    ) -> dict[tuple[uuid.UUID, str], Document]:
        if not keys:
            return {}
        found = await self.list(tuple_(Document.knowledge_base_id, Document.external_id).in_(list(keys)))
        return {(d.knowledge_base_id, d.external_id or ""): d for d in found}

    async def update_each(self, ids: Sequence[uuid.UUID], values: dict[str, Sequence[object]]) -> None:
        """Give each document its own values (one statement for many rows)."""
        if not ids:
            return
        names = list(values)
        for name in names:
            if name not in _COLUMN_TYPES:
                raise ValueError(f"update_each does not handle column {name!r}")
        sql = _UPDATE_EACH.format(
            assignments=", ".join(f"{n} = v.{n}" for n in names),
            arrays=", ".join(f"CAST(:{n} AS {_COLUMN_TYPES[n]}[])" for n in names),
            names=", ".join(names),
        )
        params: dict[str, object] = {"tenant_id": self.tenant_id, "ids": list(ids)}
        params |= {n: list(v) for n, v in values.items()}
        await self.session.execute(text(sql), params)

    async def get_by_external_id(self, knowledge_base_id: uuid.UUID, external_id: str) -> Document | None:
        return await self.first(
            Document.knowledge_base_id == knowledge_base_id, Document.external_id == external_id
        )


class ChunkRepo(TenantRepository[Chunk]):
    model = Chunk

    async def for_document(
        self, document_id: uuid.UUID, *, limit: int | None = None, offset: int = 0
    ) -> list[Chunk]:
        return await self.list(
            Chunk.document_id == document_id, order_by=[Chunk.ordinal], limit=limit, offset=offset
        )


_CACHE_LOOKUP = text(
    """
    SELECT content_hash, CAST(vector AS real[]) AS vector FROM embedding_cache
    WHERE tenant_id = :tenant_id AND model = :model AND content_hash = ANY(CAST(:hashes AS text[]))
    """
)
# Vectors travel as one flat float4[] sliced per row (binary encoding, no float formatting in Python).
_CACHE_STORE = text(
    """
    INSERT INTO embedding_cache (tenant_id, model, content_hash, vector, created_at)
    SELECT :tenant_id, :model, h.hash,
           CAST((CAST(:flat AS real[]))[(h.n - 1) * CAST(:dim AS int) + 1 : h.n * CAST(:dim AS int)]
                AS vector),
           now()
    FROM unnest(CAST(:hashes AS text[])) WITH ORDINALITY AS h(hash, n)
    ON CONFLICT DO NOTHING
    """
)


class EmbeddingCacheRepo(TenantRepository[CachedEmbedding]):
    model = CachedEmbedding

    async def lookup(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        if not hashes:
            return {}
        params = {"tenant_id": self.tenant_id, "model": model, "hashes": list(set(hashes))}
        rows = await self.session.execute(_CACHE_LOOKUP, params)
        return {row.content_hash: list(row.vector) for row in rows}

    async def store(self, model: str, vectors: dict[str, list[float]]) -> None:
        if not vectors:
            return
        hashes = list(vectors)
        dim = len(vectors[hashes[0]])
        flat = [float(x) for h in hashes for x in vectors[h]]
        params = {"tenant_id": self.tenant_id, "model": model, "hashes": hashes, "dim": dim, "flat": flat}
        await self.session.execute(_CACHE_STORE, params)
