"""Vector stores by name: RAG_VECTOR_DRIVER picks one from `VECTOR_STORES`.

The built-ins register with `register_vector_store`, the call a third party uses for its own
driver (it runs the call at import, before `build_vector_store`).

`milvus` connects according to MILVUS_HOST:

- `lite`: milvus-lite, in-process, in `STORAGE_PATH/milvus.db`; nothing to run, but
  one process at a time may open the file, so use it for development and single-worker set-ups;
- a path ending in `.db`: milvus-lite in that file;
- a URI (`http://`, `https://`, `tcp://`, `unix:`): used as given;
- otherwise a host name: `http(s)://MILVUS_HOST:MILVUS_PORT` (https when MILVUS_TLS), with
  MILVUS_TOKEN.

Both stores rank by cosine similarity whatever RAG_VECTOR_METRIC says: the pgvector HNSW indexes
are built with `vector_cosine_ops`, and for the normalised vectors our embedders produce, inner
product and L2 give the same order anyway. Another metric is logged as ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chatbot_platform.kit.db import Database
from chatbot_platform.retrieval.stores.base import VectorStore
from chatbot_platform.retrieval.stores.pgvector import PgVectorStore
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)

VectorStoreFactory = Callable[[Settings, Database], VectorStore]

VECTOR_STORES: dict[str, VectorStoreFactory] = {}

LITE_HOSTS = frozenset({"lite"})
LITE_FILE = "milvus.db"


def register_vector_store(name: str, factory: VectorStoreFactory) -> None:
    """Make `factory` the driver called `name` (replacing any built-in of that name)."""
    VECTOR_STORES[name] = factory


def build_vector_store(settings: Settings, database: Database) -> VectorStore:
    driver = settings.rag.vector_driver
    factory = VECTOR_STORES.get(driver)
    if factory is None:
        raise ValueError(f"RAG_VECTOR_DRIVER={driver!r} is not a registered vector store")
    if settings.rag.vector_metric != "cosine":
        log.warning("RAG_VECTOR_METRIC ignored: vector stores rank by cosine similarity")
    return factory(settings, database)


def milvus_store_uri(settings: Settings) -> str:
    """Where the milvus driver connects (see the module docstring)."""
    from chatbot_platform.retrieval.stores.milvus import milvus_uri

    if settings.milvus.host.strip().lower() in LITE_HOSTS:
        return str(settings.app.storage_path / LITE_FILE)
    return milvus_uri(settings.milvus)


def _pgvector(settings: Settings, database: Database) -> VectorStore:  # noqa: ARG001
    return PgVectorStore(database)


def _milvus(settings: Settings, database: Database) -> VectorStore:  # noqa: ARG001
    # pymilvus (gRPC) takes a while to import: only deployments that use Milvus pay for it.
    from chatbot_platform.retrieval.stores.milvus import MilvusStore

    return MilvusStore(settings.milvus, uri=milvus_store_uri(settings))


register_vector_store("pgvector", _pgvector)
register_vector_store("milvus", _milvus)
