"""RAG_VECTOR_DRIVER picks a store from the registry; the built-ins register like a third party would."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot_platform.kit.db import Database
from chatbot_platform.retrieval.stores.base import VectorStore
from chatbot_platform.retrieval.stores.milvus import MilvusStore
from chatbot_platform.retrieval.stores.pgvector import PgVectorStore
from chatbot_platform.retrieval.stores.registry import (
    VECTOR_STORES,
    build_vector_store,
    milvus_store_uri,
    register_vector_store,
)
from chatbot_platform.settings import Settings
from tests.fixtures.database import make_settings


async def test_pgvector_is_the_default_driver(settings: Settings) -> None:
    database = await Database.open(settings)
    try:
        store = build_vector_store(settings, database)
        assert isinstance(store, PgVectorStore)
    finally:
        await database.close()


async def test_milvus_lite_lives_in_the_storage_folder(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path / "storage", database_url, RAG_VECTOR_DRIVER="milvus", MILVUS_HOST="lite"
    )
    database = await Database.open(settings)
    try:
        store = build_vector_store(settings, database)
        assert isinstance(store, MilvusStore)
        await store.close()
    finally:
        await database.close()
    assert milvus_store_uri(settings) == str(tmp_path / "storage" / "milvus.db")
    assert (tmp_path / "storage" / "milvus.db").exists()


def test_milvus_server_settings_give_a_server_uri(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, MILVUS_HOST="milvus.internal", MILVUS_PORT="19540")
    assert milvus_store_uri(settings) == "http://milvus.internal:19540"


async def test_a_registered_driver_is_built_through_the_same_path(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(VECTOR_STORES, "pgvector", VECTOR_STORES["pgvector"])  # restored afterwards
    built: list[VectorStore] = []

    def factory(settings: Settings, database: Database) -> VectorStore:
        built.append(PgVectorStore(database))
        return built[-1]

    register_vector_store("pgvector", factory)
    database = await Database.open(settings)
    try:
        assert build_vector_store(settings, database) is built[0]
    finally:
        await database.close()
