"""The contract every vector store keeps; each test runs against pgvector and Milvus (milvus-lite)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from chatbot_platform.retrieval.stores.base import VectorHit, VectorRecord, VectorStore
from tests.retrieval.stores.conftest import Corpus, unit_vectors

MODEL = "multilingual-e5-small"
DIM = 384


def ids(hits: list[VectorHit]) -> list[uuid.UUID]:
    return [hit.chunk_id for hit in hits]


def exact_ranking(records: list[VectorRecord], query: np.ndarray) -> list[tuple[uuid.UUID, float]]:
    """Chunk ids by exact cosine similarity to `query`, best first."""
    scored = [
        (r.chunk_id, float(np.dot(r.vector, query) / np.linalg.norm(r.vector) / np.linalg.norm(query)))
        for r in records
    ]
    return sorted(scored, key=lambda pair: -pair[1])


async def test_search_returns_the_nearest_chunks_first_with_cosine_similarity(
    store: VectorStore, corpus: Corpus
) -> None:
    scope = await corpus.scope()
    records = await corpus.records(scope, unit_vectors(30, DIM, seed=1))
    await store.upsert(records, model=MODEL)
    query = np.asarray(records[7].vector) + 0.3 * unit_vectors(1, DIM, seed=2)[0]

    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], query.tolist(), model=MODEL, top_k=5
    )

    expected = exact_ranking(records, query)[:5]
    assert ids(hits) == [chunk_id for chunk_id, _ in expected]
    assert hits[0].chunk_id == records[7].chunk_id
    for hit, (_, similarity) in zip(hits, expected, strict=True):
        assert -1.0 <= hit.score <= 1.0
        assert hit.score == pytest.approx(similarity, abs=1e-4)
        assert (hit.document_id, hit.knowledge_base_id) == (scope.document_id, scope.knowledge_base_id)


async def test_a_tenant_never_sees_another_tenants_chunks(store: VectorStore, corpus: Corpus) -> None:
    a = await corpus.scope()
    b = await corpus.scope()
    records = await corpus.records(a, unit_vectors(10, DIM, seed=3))
    await store.upsert(records, model=MODEL)
    await store.upsert(await corpus.records(b, unit_vectors(3, DIM, seed=4)), model=MODEL)

    for kb_ids in ([b.knowledge_base_id], [a.knowledge_base_id], [a.knowledge_base_id, b.knowledge_base_id]):
        hits = await store.search(b.tenant_id, kb_ids, records[0].vector, model=MODEL, top_k=10)
        assert not set(ids(hits)) & {r.chunk_id for r in records}
    assert await store.chunk_ids(b.tenant_id, [a.document_id]) == set()


async def test_search_is_limited_to_the_given_knowledge_bases(store: VectorStore, corpus: Corpus) -> None:
    first = await corpus.scope()
    second = await corpus.scope(first.tenant_id)
    in_first = await corpus.records(first, unit_vectors(5, DIM, seed=5))
    in_second = await corpus.records(second, unit_vectors(5, DIM, seed=6))
    await store.upsert(in_first + in_second, model=MODEL)
    query = in_second[0].vector

    only_first = await store.search(first.tenant_id, [first.knowledge_base_id], query, model=MODEL, top_k=10)
    both = await store.search(
        first.tenant_id, [first.knowledge_base_id, second.knowledge_base_id], query, model=MODEL, top_k=10
    )

    assert set(ids(only_first)) == {r.chunk_id for r in in_first}
    assert set(ids(both)) == {r.chunk_id for r in in_first + in_second}
    assert both[0].chunk_id == in_second[0].chunk_id
    assert both[0].knowledge_base_id == second.knowledge_base_id


async def test_vectors_of_another_model_are_not_returned(store: VectorStore, corpus: Corpus) -> None:
    scope = await corpus.scope()
    old = await corpus.records(scope, unit_vectors(4, DIM, seed=7))
    new = await corpus.records(scope, unit_vectors(4, DIM, seed=8))
    await store.upsert(old, model="old-model")
    await store.upsert(new, model=MODEL)

    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], old[0].vector, model=MODEL, top_k=10
    )

    assert set(ids(hits)) == {r.chunk_id for r in new}


@pytest.mark.parametrize("dim", [DIM, 8])
async def test_indexed_and_unindexed_dimensions_are_searched_apart(
    store: VectorStore, corpus: Corpus, dim: int
) -> None:
    scope = await corpus.scope()
    other_dim = 8 if dim == DIM else DIM
    wanted = await corpus.records(scope, unit_vectors(6, dim, seed=9))
    await store.upsert(wanted, model=MODEL)
    await store.upsert(await corpus.records(scope, unit_vectors(6, other_dim, seed=10)), model=MODEL)

    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], wanted[2].vector, model=MODEL, top_k=10
    )

    assert set(ids(hits)) == {r.chunk_id for r in wanted}
    assert hits[0].chunk_id == wanted[2].chunk_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


async def test_upserting_again_replaces_the_vectors(store: VectorStore, corpus: Corpus) -> None:
    scope = await corpus.scope()
    first = await corpus.records(scope, unit_vectors(5, DIM, seed=11))
    second_vectors = unit_vectors(5, DIM, seed=12)
    await store.upsert(first, model=MODEL)
    replaced = [
        VectorRecord(r.chunk_id, r.tenant_id, r.knowledge_base_id, r.document_id, v.tolist())
        for r, v in zip(first, second_vectors, strict=True)
    ]
    await store.upsert(replaced, model=MODEL)
    await store.upsert(replaced, model=MODEL)

    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], first[0].vector, model=MODEL, top_k=10
    )

    assert sorted(ids(hits)) == sorted(r.chunk_id for r in first)
    similarity = dict(exact_ranking(replaced, np.asarray(first[0].vector)))
    assert hits[0].score == pytest.approx(similarity[hits[0].chunk_id], abs=1e-4)
    assert hits[0].score < 0.5
    assert await store.chunk_ids(scope.tenant_id) == {r.chunk_id for r in first}


async def test_deleting_documents_removes_their_vectors(store: VectorStore, corpus: Corpus) -> None:
    kept = await corpus.scope()
    gone = await corpus.scope(kept.tenant_id, kept.knowledge_base_id)
    kept_records = await corpus.records(kept, unit_vectors(3, DIM, seed=13))
    gone_records = await corpus.records(gone, unit_vectors(3, DIM, seed=14))
    await store.upsert(kept_records + gone_records, model=MODEL)

    await store.delete_documents(uuid.uuid4(), [gone.document_id])  # another tenant: nothing happens
    assert await store.chunk_ids(kept.tenant_id, [gone.document_id]) == {r.chunk_id for r in gone_records}
    await store.delete_documents(kept.tenant_id, [gone.document_id])

    hits = await store.search(
        kept.tenant_id, [kept.knowledge_base_id], gone_records[0].vector, model=MODEL, top_k=10
    )
    assert set(ids(hits)) == {r.chunk_id for r in kept_records}
    assert await store.chunk_ids(kept.tenant_id) == {r.chunk_id for r in kept_records}
    assert await store.chunk_ids(kept.tenant_id, [gone.document_id]) == set()
    assert await store.chunk_ids(kept.tenant_id, [kept.document_id]) == {r.chunk_id for r in kept_records}


async def test_deleting_chunks_removes_their_vectors(store: VectorStore, corpus: Corpus) -> None:
    scope = await corpus.scope()
    records = await corpus.records(scope, unit_vectors(6, DIM, seed=15))
    await store.upsert(records, model=MODEL)
    doomed = [r.chunk_id for r in records[:2]]

    await store.delete_chunks(uuid.uuid4(), doomed)  # another tenant: nothing happens
    assert await store.chunk_ids(scope.tenant_id) == {r.chunk_id for r in records}
    await store.delete_chunks(scope.tenant_id, doomed)

    hits = await store.search(
        scope.tenant_id, [scope.knowledge_base_id], records[0].vector, model=MODEL, top_k=10
    )
    assert set(ids(hits)) == {r.chunk_id for r in records[2:]}
    assert await store.chunk_ids(scope.tenant_id) == {r.chunk_id for r in records[2:]}


async def test_top_k_is_filled_from_our_chunks_among_many_of_other_tenants(
    store: VectorStore, corpus: Corpus
) -> None:
    ours = await corpus.scope()
    query = unit_vectors(1, DIM, seed=16)[0]
    # Other tenants' vectors sit nearer the query than ours, so an index that filters after
    # its scan would find none of ours among its first candidates.
    crowd = 0.7 * query + 0.3 * unit_vectors(2000, DIM, seed=17)
    for tenant in range(4):
        others = await corpus.scope()
        await store.upsert(
            await corpus.records(others, crowd[tenant * 500 : (tenant + 1) * 500]), model=MODEL
        )
    mine = await corpus.records(ours, unit_vectors(20, DIM, seed=18))
    await store.upsert(mine, model=MODEL)

    hits = await store.search(ours.tenant_id, [ours.knowledge_base_id], query.tolist(), model=MODEL, top_k=10)

    assert len(hits) == 10
    assert set(ids(hits)) <= {r.chunk_id for r in mine}
    best = {chunk_id for chunk_id, _ in exact_ranking(mine, query)[:10]}
    assert len(set(ids(hits)) & best) >= 9  # approximate search may swap the tenth
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


async def test_search_without_knowledge_bases_returns_nothing(store: VectorStore, corpus: Corpus) -> None:
    scope = await corpus.scope()
    records = await corpus.records(scope, unit_vectors(3, DIM, seed=19))
    await store.upsert(records, model=MODEL)

    assert await store.search(scope.tenant_id, [], records[0].vector, model=MODEL, top_k=10) == []


async def test_search_before_any_vector_returns_nothing(store: VectorStore, corpus: Corpus) -> None:
    scope = await corpus.scope()

    hits = await store.search(scope.tenant_id, [scope.knowledge_base_id], [1.0] * 12, model=MODEL, top_k=5)

    assert hits == []
    assert await store.chunk_ids(scope.tenant_id) == set()


async def test_vectors_returns_the_stored_vectors_of_the_tenants_chunks_only(
    store: VectorStore, corpus: Corpus
) -> None:
    a = await corpus.scope()
    b = await corpus.scope()
    mine = await corpus.records(a, unit_vectors(4, DIM, seed=5))
    theirs = await corpus.records(b, unit_vectors(2, DIM, seed=6))
    await store.upsert(mine + theirs, model=MODEL)
    wanted = [r.chunk_id for r in mine[:3]] + [theirs[0].chunk_id, uuid.uuid4()]

    found = await store.vectors(a.tenant_id, wanted, model=MODEL)

    assert set(found) == {r.chunk_id for r in mine[:3]}
    for record in mine[:3]:
        assert found[record.chunk_id] == pytest.approx(record.vector, abs=1e-6)
    assert await store.vectors(a.tenant_id, wanted, model="another-model") == {}
    assert await store.vectors(a.tenant_id, [], model=MODEL) == {}
