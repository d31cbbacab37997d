"""The vector store interface: pgvector (default) and Milvus implement it and pass the same tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

# A vector read back for ranking: float32 in an array, never a list of Python floats (a search
# reads dozens of them, and building 1536 float objects each was a visible part of its CPU time).
StoredVector: TypeAlias = npt.NDArray[np.float32]


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
        self,
        tenant_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID] | None = None,
        *,
        model: str | None = None,
    ) -> set[uuid.UUID]:
        """Ids of the tenant's chunks with a vector (of `model` if given), optionally of some documents."""
        ...

    # A tenant's change of embedding model (ingestion/model_switch.py): `stage` for every chunk,
    # then `switch` in the transaction that changes the tenant's model, then `prune_models`.

    async def stage(self, records: Sequence[VectorRecord], *, model: str) -> None:
        """Write vectors of the model a tenant is switching to, unseen by searches with another model.

        A store that keeps one vector per chunk does nothing here and takes them in `switch`.
        """
        ...

    async def switch(self, session: AsyncSession, tenant_id: uuid.UUID, model: str) -> None:
        """Make the tenant's vectors `model`'s, inside `session`'s transaction that activates it."""
        ...

    async def prune_models(self, tenant_id: uuid.UUID, keep: Sequence[str]) -> None:
        """Delete the tenant's vectors of every model not in `keep`."""
        ...

    async def vectors(
        self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID], *, model: str
    ) -> dict[uuid.UUID, StoredVector]:
        """The stored `model` vectors of these chunks of the tenant (chunks without one are absent)."""
        ...

    async def close(self) -> None: ...
