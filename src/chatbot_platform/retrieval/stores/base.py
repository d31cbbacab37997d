"""The vector store interface: pgvector (default) and Milvus implement it and pass the same tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class VectorRecord:
    chunk_id: uuid.UUID
    tenant_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    document_id: uuid.UUID
    vector: list[float]


@dataclass(frozen=True)
class VectorHit:
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    score: float  # cosine similarity, higher is better


class VectorStore(Protocol):
    """Every call names the tenant; a store filters by tenant (and knowledge base) inside the query."""

    name: str

    async def upsert(self, records: Sequence[VectorRecord], *, model: str) -> None:
        """Write vectors (replacing any for the same chunk ids); all records share `model`."""
        ...

    async def search(
        self,
        tenant_id: uuid.UUID,
        knowledge_base_ids: Sequence[uuid.UUID],
        vector: Sequence[float],
        *,
        model: str,
        top_k: int,
    ) -> list[VectorHit]:
        """The `top_k` nearest chunks of those knowledge bases embedded with `model`, best first."""
        ...

    async def delete_documents(self, tenant_id: uuid.UUID, document_ids: Sequence[uuid.UUID]) -> None: ...

    async def delete_chunks(self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID]) -> None: ...

    async def chunk_ids(
        self, tenant_id: uuid.UUID, document_ids: Sequence[uuid.UUID] | None = None
    ) -> set[uuid.UUID]:
        """Ids of the tenant's chunks that have a vector, optionally of some documents only."""
        ...

    async def close(self) -> None: ...
