"""Milvus specifics: the collection layout, tenancy by partition key, safe filters, reopening a file."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from chatbot_platform.retrieval.stores.base import VectorRecord
from chatbot_platform.retrieval.stores.milvus import MilvusStore, milvus_uri, quoted_model, quoted_uuid
from tests.fixtures.database import make_settings
from tests.retrieval.stores.conftest import unit_vectors

MODEL = "multilingual-e5-small"


def _store(tmp_path: Path, **overrides: str) -> MilvusStore:
    settings = make_settings(tmp_path / "storage", **overrides).milvus
    return MilvusStore(settings, uri=str(tmp_path / "milvus.db"))


def _records(dim: int, n: int = 3) -> list[VectorRecord]:
    tenant, kb, doc = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return [VectorRecord(uuid.uuid4(), tenant, kb, doc, v.tolist()) for v in unit_vectors(n, dim, seed=1)]


@pytest.mark.parametrize("enabled", ["true", "false"])
async def test_tenant_id_is_the_partition_key_when_partitions_are_enabled(
    tmp_path: Path, enabled: str
) -> None:
    store = _store(tmp_path, MILVUS_PARTITIONS_ENABLED=enabled)
    try:
        await store.upsert(_records(16), model=MODEL)
        fields = {f["name"]: f for f in store._client.describe_collection("kb_chunks_v1_16")["fields"]}
    finally:
        await store.close()

    assert set(fields) == {
        "id",
        "chunk_id",
        "tenant_id",
        "knowledge_base_id",
        "document_id",
        "model",
        "vector",
    }
    assert fields["id"].get("is_primary") is True, "one row per chunk and model"
    assert bool(fields["tenant_id"].get("is_partition_key")) is (enabled == "true")


async def test_the_configured_index_is_built_with_the_cosine_metric(tmp_path: Path) -> None:
    store = _store(tmp_path, MILVUS_INDEX_TYPE="HNSW")
    try:
        await store.upsert(_records(16), model=MODEL)
        index = store._client.describe_index("kb_chunks_v1_16", "vector")
    finally:
        await store.close()

    assert (index["index_type"], index["metric_type"]) == (store.index_type, "COSINE")


async def test_vectors_survive_reopening_the_file(tmp_path: Path) -> None:
    records = _records(16)
    first = _store(tmp_path)
    await first.upsert(records, model=MODEL)
    await first.close()

    second = _store(tmp_path)
    try:
        r = records[0]
        hits = await second.search(r.tenant_id, [r.knowledge_base_id], r.vector, model=MODEL, top_k=5)
    finally:
        await second.close()

    assert {hit.chunk_id for hit in hits} == {rec.chunk_id for rec in records}


@pytest.mark.parametrize("bad", ['x" or tenant_id != "', "a b", "", "é"])
def test_model_names_that_could_change_a_filter_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="model"):
        quoted_model(bad)


def test_ids_in_filters_must_be_uuids() -> None:
    with pytest.raises(ValueError, match="UUID"):
        quoted_uuid('00000000-0000-0000-0000-000000000000" or "1" == "1')
    assert quoted_uuid("0BADF00D-0000-4000-8000-000000000000") == '"0badf00d-0000-4000-8000-000000000000"'


def test_server_uri_follows_host_port_and_tls(tmp_path: Path) -> None:
    def uri(**overrides: str) -> str:
        return milvus_uri(make_settings(tmp_path, **overrides).milvus)

    assert uri(MILVUS_HOST="milvus.internal") == "http://milvus.internal:19530"
    assert (
        uri(MILVUS_HOST="milvus.internal", MILVUS_PORT="443", MILVUS_TLS="true")
        == "https://milvus.internal:443"
    )
    assert uri(MILVUS_HOST="https://cloud.example:19531") == "https://cloud.example:19531"
    assert uri(MILVUS_HOST="/data/vectors.db") == "/data/vectors.db"
