"""A tenant's change of embedding model as each store sees it: stage, switch, prune."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from pymilvus import DataType, MilvusClient

from chatbot_platform.ingestion.repository import EmbeddingCacheRepo
from chatbot_platform.kit.db import Database
from chatbot_platform.retrieval.stores.base import VectorRecord, VectorStore
from chatbot_platform.retrieval.stores.milvus import MilvusStore
from chatbot_platform.settings import Settings
from tests.fixtures.database import make_settings
from tests.retrieval.stores.conftest import Corpus, Scope, unit_vectors

OLD, NEW = "multilingual-e5-small", "text-embedding-3-small"
DIM = 384  # both models of one dimension: the hard case for a store keyed by chunk


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    yield database
    await database.close()


def with_vectors(records: Sequence[VectorRecord], seed: int) -> list[VectorRecord]:
    """The same chunks with other vectors, as another model would give them."""
    vectors = unit_vectors(len(records), DIM, seed=seed)
    return [
        VectorRecord(r.chunk_id, r.tenant_id, r.knowledge_base_id, r.document_id, v.tolist())
        for r, v in zip(records, vectors, strict=True)
    ]


async def cache(database: Database, records: Sequence[VectorRecord], model: str) -> None:
    """What the switch job leaves in the embedding cache (chunks of the corpus hash to their id)."""
    async with database.transaction() as session:
        repo = EmbeddingCacheRepo(session, records[0].tenant_id)
        await repo.store(model, {r.chunk_id.hex: r.vector for r in records})


async def found(
    store: VectorStore, scope: Scope, records: Sequence[VectorRecord], model: str
) -> set[uuid.UUID]:
    """The chunks a search with `model` returns; the first record's own vector must rank it first."""
    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], records[0].vector, model=model, top_k=50
    )
    assert not hits or hits[0].chunk_id == records[0].chunk_id
    return {hit.chunk_id for hit in hits}


async def test_searches_see_only_old_vectors_until_the_switch_commits_and_only_new_ones_after(
    store: VectorStore, corpus: Corpus, database: Database
) -> None:
    scope = await corpus.scope()
    old = await corpus.records(scope, unit_vectors(12, DIM, seed=1))
    await store.upsert(old, model=OLD)
    new = with_vectors(old, seed=2)
    everything = {r.chunk_id for r in old}
    if store.name == "pgvector":
        await cache(database, new, NEW)

    await store.stage(new, model=NEW)
    assert await found(store, scope, old, OLD) == everything
    async with database.transaction() as session:
        await store.switch(session, scope.tenant_id, NEW)
        assert await found(store, scope, old, OLD) == everything, "nothing changes before the commit"
    assert await found(store, scope, new, NEW) == everything
    await store.prune_models(scope.tenant_id, [NEW])

    assert await found(store, scope, old, OLD) == set()
    assert await store.chunk_ids(scope.tenant_id, model=NEW) == everything
    assert await store.chunk_ids(scope.tenant_id, model=OLD) == set()
    assert await store.chunk_ids(scope.tenant_id) == everything


async def test_pruning_keeps_the_models_asked_for_and_other_tenants(
    store: VectorStore, corpus: Corpus
) -> None:
    mine, theirs = await corpus.scope(), await corpus.scope()
    old = await corpus.records(mine, unit_vectors(4, DIM, seed=3))
    other = await corpus.records(theirs, unit_vectors(4, DIM, seed=4))
    await store.upsert(old, model=OLD)
    await store.upsert(other, model=OLD)

    await store.prune_models(mine.tenant_id, [OLD, NEW])
    assert await store.chunk_ids(mine.tenant_id, model=OLD) == {r.chunk_id for r in old}
    await store.prune_models(mine.tenant_id, [NEW])
    assert await store.chunk_ids(mine.tenant_id) == set()
    assert await store.chunk_ids(theirs.tenant_id, model=OLD) == {r.chunk_id for r in other}


async def test_pgvector_clears_chunks_the_cache_lacks_when_it_switches(
    pgvector_store: tuple[VectorStore, Corpus], database: Database
) -> None:
    store, corpus = pgvector_store
    scope = await corpus.scope()
    old = await corpus.records(scope, unit_vectors(6, DIM, seed=5))
    await store.upsert(old, model=OLD)
    new = with_vectors(old, seed=6)
    await cache(database, new[:4], NEW)  # the last two were ingested during the switch

    async with database.transaction() as session:
        await store.switch(session, scope.tenant_id, NEW)

    assert await store.chunk_ids(scope.tenant_id, model=NEW) == {r.chunk_id for r in new[:4]}
    assert await store.chunk_ids(scope.tenant_id) == {r.chunk_id for r in new[:4]}, "no old vector is left"


async def test_milvus_keeps_one_vector_per_chunk_and_model(milvus_store: tuple[VectorStore, Corpus]) -> None:
    store, corpus = milvus_store
    scope = await corpus.scope()
    old = await corpus.records(scope, unit_vectors(5, DIM, seed=7))
    await store.upsert(old, model=OLD)
    await store.upsert(old, model=OLD)
    await store.stage(with_vectors(old, seed=8), model=NEW)

    await store.delete_chunks(scope.tenant_id, [old[0].chunk_id])

    remaining = {r.chunk_id for r in old[1:]}
    assert await store.chunk_ids(scope.tenant_id, model=OLD) == remaining
    assert await store.chunk_ids(scope.tenant_id, model=NEW) == remaining
    hits = await store.search(scope.tenant_id, [scope.knowledge_base_id], old[1].vector, model=OLD, top_k=50)
    assert sorted(hit.chunk_id for hit in hits) == sorted(remaining), "one hit per chunk"


async def test_milvus_refuses_a_collection_keyed_by_chunk_alone(tmp_path: Path) -> None:
    uri = str(tmp_path / "legacy.db")
    client = MilvusClient(uri=uri)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=36)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    client.create_collection("kb_chunks_v1_8", schema=schema)
    client.close()
    store = MilvusStore(make_settings(tmp_path / "storage").milvus, uri=uri)
    try:
        with pytest.raises(RuntimeError, match="cbp kb audit --fix"):
            await store.search(uuid.uuid4(), [uuid.uuid4()], [0.5] * 8, model=OLD, top_k=1)
    finally:
        await store.close()
