from __future__ import annotations

import uuid
from collections.abc import Sequence

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import CachedEmbedding, Chunk, Document


class DocumentRepo(TenantRepository[Document]):
    model = Document

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


class EmbeddingCacheRepo(TenantRepository[CachedEmbedding]):
    model = CachedEmbedding

    async def lookup(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        if not hashes:
            return {}
        rows = await self.list(
            CachedEmbedding.model == model, CachedEmbedding.content_hash.in_(list(set(hashes)))
        )
        return {row.content_hash: [float(x) for x in row.vector] for row in rows}

    async def store(self, model: str, vectors: dict[str, list[float]]) -> None:
        rows = [{"model": model, "content_hash": h, "vector": v} for h, v in vectors.items()]
        await self.insert_ignoring_conflicts(rows)
