"""The vector stores under test and the chunk rows their vectors belong to."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert

from chatbot_platform.kit.db import Database
from chatbot_platform.models import Chunk, Document, DocumentSource, KnowledgeBase, Tenant
from chatbot_platform.retrieval.stores.base import VectorRecord, VectorStore
from chatbot_platform.retrieval.stores.milvus import MilvusStore
from chatbot_platform.retrieval.stores.pgvector import PgVectorStore
from chatbot_platform.settings import Settings
from tests.fixtures.database import make_settings

_names = itertools.count(1)


@dataclass(frozen=True)
class Scope:
    """Where new chunks go: one document of one knowledge base of one tenant."""

    tenant_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    document_id: uuid.UUID


class Corpus:
    """Creates tenants, knowledge bases, documents and chunks: rows for pgvector, bare ids for Milvus."""

    def __init__(self, database: Database | None) -> None:
        self.database = database
        self._ordinals = itertools.count()

    async def scope(
        self, tenant_id: uuid.UUID | None = None, knowledge_base_id: uuid.UUID | None = None
    ) -> Scope:
        tenant_id = tenant_id or await self._tenant()
        knowledge_base_id = knowledge_base_id or await self._knowledge_base(tenant_id)
        return Scope(tenant_id, knowledge_base_id, await self._document(tenant_id, knowledge_base_id))

    async def records(self, scope: Scope, vectors: Sequence[Sequence[float]]) -> list[VectorRecord]:
        ids = [uuid.uuid4() for _ in vectors]
        await self._insert(Chunk, [_chunk_row(scope, chunk_id, next(self._ordinals)) for chunk_id in ids])
        return [
            VectorRecord(chunk_id, scope.tenant_id, scope.knowledge_base_id, scope.document_id, list(vector))
            for chunk_id, vector in zip(ids, vectors, strict=True)
        ]

    async def _tenant(self) -> uuid.UUID:
        tenant_id, n = uuid.uuid4(), next(_names)
        await self._insert(
            Tenant, [{"id": tenant_id, "name": f"Tenant {n}", "slug": f"tenant-{n}-{tenant_id.hex[:8]}"}]
        )
        return tenant_id

    async def _knowledge_base(self, tenant_id: uuid.UUID) -> uuid.UUID:
        kb_id = uuid.uuid4()
        await self._insert(
            KnowledgeBase,
            [{"id": kb_id, "tenant_id": tenant_id, "name": f"KB {next(_names)}", "language": "simple"}],
        )
        return kb_id

    async def _document(self, tenant_id: uuid.UUID, knowledge_base_id: uuid.UUID) -> uuid.UUID:
        document_id = uuid.uuid4()
        row = {
            "id": document_id,
            "tenant_id": tenant_id,
            "knowledge_base_id": knowledge_base_id,
            "title": f"Document {next(_names)}",
            "source": DocumentSource.API_TEXT,
        }
        await self._insert(Document, [row])
        return document_id

    async def _insert(self, model: type[object], rows: list[dict[str, object]]) -> None:
        if self.database is None or not rows:
            return
        async with self.database.transaction() as session:
            await session.execute(insert(model), rows)


def _chunk_row(scope: Scope, chunk_id: uuid.UUID, ordinal: int) -> dict[str, object]:
    return {
        "id": chunk_id,
        "tenant_id": scope.tenant_id,
        "knowledge_base_id": scope.knowledge_base_id,
        "document_id": scope.document_id,
        "ordinal": ordinal,
        "text": f"chunk {ordinal}",
        "heading_path": [],
        "content_hash": chunk_id.hex,
        "fts_config": "simple",
    }


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
async def pgvector_store(settings: Settings) -> AsyncIterator[tuple[VectorStore, Corpus]]:
    database = await Database.open(settings)
    store = PgVectorStore(database)
    yield store, Corpus(database)
    await store.close()
    await database.close()


@pytest.fixture
async def milvus_store(tmp_path: Path) -> AsyncIterator[tuple[VectorStore, Corpus]]:
    settings = make_settings(tmp_path / "storage").milvus
    store = MilvusStore(settings, uri=str(tmp_path / "milvus" / "vectors.db"))
    yield store, Corpus(None)
    await store.close()


@pytest.fixture(params=["pgvector", "milvus"])
def store_and_corpus(request: pytest.FixtureRequest) -> tuple[VectorStore, Corpus]:
    pair: tuple[VectorStore, Corpus] = request.getfixturevalue(f"{request.param}_store")
    return pair


@pytest.fixture
def store(store_and_corpus: tuple[VectorStore, Corpus]) -> VectorStore:
    return store_and_corpus[0]


@pytest.fixture
def corpus(store_and_corpus: tuple[VectorStore, Corpus]) -> Corpus:
    return store_and_corpus[1]
