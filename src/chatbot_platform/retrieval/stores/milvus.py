"""The Milvus store: a server (http(s)://MILVUS_HOST:MILVUS_PORT) or milvus-lite (a local `.db` path).

One collection per vector dimension, `{MILVUS_COLLECTION}_{dim}`, created on the first upsert
with the fields id (primary key), chunk_id, tenant_id, knowledge_base_id, document_id, model and
vector, a COSINE index of MILVUS_INDEX_TYPE and Strong consistency (a deleted document must not
come back in the next search).

The primary key is model-qualified, `{chunk_id}:{first 16 hex of sha256(model)}`, so a chunk can
have a vector of each of two models at once, whether or not they share a dimension (and so a
collection). That is how a tenant changes embedding model without a reader ever seeing a mixed
or empty index (ingestion/model_switch.py): `stage` writes every chunk's vector of the new model
*beside* the old one while searches still filter on the old model; the switch itself is only the
tenant's model changing in PostgreSQL, after which searches filter on the new model; then
`prune_models` deletes the old model's vectors. Overwriting a chunk_id-keyed row instead would
have left, for models of one dimension, a window with some chunks in each model. Collections
from before this layout (chunk_id as the key) are refused with the way out: drop them and let
`cbp kb audit --fix` re-embed.

Tenancy: with MILVUS_PARTITIONS_ENABLED, `tenant_id` is the collection's *partition key*: Milvus
hashes tenants into partitions and prunes them at search time, which scales to any number of
tenants (manual partitions are capped per collection). Whether or not partitions are used, every
search, query and delete puts `tenant_id` (and, for searches, `knowledge_base_id`) in the filter
expression. Milvus-lite has no expression templates, so ids are interpolated only after being
parsed as UUIDs, and model names only after matching a conservative pattern.

Milvus-lite (3.x) supports HNSW, IVF_FLAT, FLAT and AUTOINDEX, partition keys and manual
partitions; HNSW and IVF_FLAT need `faiss-cpu` there, so without it the store falls back to
AUTOINDEX (brute force in milvus-lite).

pymilvus is synchronous: every call runs in a worker thread. gRPC calls are thread-safe; only
the check-then-create of a collection is serialised.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pymilvus import DataType, MilvusClient  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.retrieval.stores.base import StoredVector, VectorHit, VectorRecord
from chatbot_platform.settings.sections import MilvusSettings

T = TypeVar("T")

UUID_LENGTH = 36
ID_LENGTH = 64
MODEL_DIGEST_CHARS = 16
MODEL_MAX_LENGTH = 200
UPSERT_BATCH = 1000
QUERY_BATCH = 1000
MAX_DIMENSIONS = 32768  # Milvus' limit for FLOAT_VECTOR
IVF_NLIST = 128
IVF_NPROBE = 16
FAISS_INDEX_TYPES = frozenset({"HNSW", "IVF_FLAT"})
URI_SCHEMES = ("http://", "https://", "tcp://", "unix:")

_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+\-]{0,199}")
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


def milvus_uri(settings: MilvusSettings) -> str:
    """MILVUS_HOST as given when it is a URI or a `.db` file, else http(s)://MILVUS_HOST:MILVUS_PORT."""
    host = settings.host
    if is_lite(host) or host.startswith(URI_SCHEMES):
        return host
    scheme = "https" if settings.tls else "http"
    return f"{scheme}://{host}:{settings.port}"


def is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def quoted_uuid(value: uuid.UUID | str) -> str:
    """A UUID as a Milvus string literal; anything that is not a UUID is refused."""
    return f'"{uuid.UUID(str(value))}"'


def uuid_list(values: Iterable[uuid.UUID | str]) -> str:
    return "[" + ", ".join(quoted_uuid(v) for v in values) + "]"


def quoted_model(model: str) -> str:
    if not _MODEL.fullmatch(model):
        raise ValueError(f"embedding model name not allowed in a Milvus filter: {model!r}")
    return f'"{model}"'


def vector_id(chunk_id: uuid.UUID | str, model: str) -> str:
    """The primary key of a chunk's vector of `model`: one row per (chunk, model)."""
    digest = hashlib.sha256(model.encode()).hexdigest()[:MODEL_DIGEST_CHARS]
    return f"{uuid.UUID(str(chunk_id))}:{digest}"


def model_list(models: Sequence[str]) -> str:
    return "[" + ", ".join(quoted_model(m) for m in models) + "]"


def search_filter(tenant_id: uuid.UUID, knowledge_base_ids: Sequence[uuid.UUID], model: str) -> str:
    return (
        f"tenant_id == {quoted_uuid(tenant_id)} and knowledge_base_id in {uuid_list(knowledge_base_ids)}"
        f" and model == {quoted_model(model)}"
    )


def tenant_filter(tenant_id: uuid.UUID, field: str | None = None, ids: Sequence[uuid.UUID] = ()) -> str:
    expression = f"tenant_id == {quoted_uuid(tenant_id)}"
    return f"{expression} and {field} in {uuid_list(ids)}" if field else expression


def faiss_available() -> bool:
    try:
        from milvus_lite.index import is_faiss_available  # type: ignore[import-untyped]
    except ImportError:
        return False
    return bool(is_faiss_available())


def effective_index_type(requested: str, *, lite: bool) -> str:
    """The configured index type, or AUTOINDEX where milvus-lite cannot build it."""
    if lite and requested in FAISS_INDEX_TYPES and not faiss_available():
        return "AUTOINDEX"
    return requested


class MilvusStore:
    """Vectors in Milvus collections, one per dimension, filtered by tenant inside every request."""

    name = "milvus"

    def __init__(self, settings: MilvusSettings, *, uri: str | None = None) -> None:
        if not _COLLECTION.fullmatch(settings.collection):
            raise ValueError(f"invalid MILVUS_COLLECTION {settings.collection!r}")
        self._settings = settings
        self._uri = uri or milvus_uri(settings)
        self._lite = is_lite(self._uri)
        self._index_type = effective_index_type(settings.index_type, lite=self._lite)
        self._family = re.compile(re.escape(settings.collection) + r"_(\d+)")
        self._known: set[str] = set()
        self._create_lock = threading.Lock()
        token = settings.token.get_secret_value() if settings.token else ""
        if self._lite:
            Path(self._uri).parent.mkdir(parents=True, exist_ok=True)
        self._client: Any = MilvusClient(uri=self._uri, token=token)
        if self._lite:
            _acquire_lite_server(self._uri)

    @property
    def index_type(self) -> str:
        return self._index_type

    def collection_name(self, dim: int) -> str:
        if not 1 <= dim <= MAX_DIMENSIONS:
            raise ValueError(f"vector dimension must be between 1 and {MAX_DIMENSIONS}, got {dim}")
        return f"{self._settings.collection}_{dim}"

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(call, *args, **kwargs)

    # -- writes -------------------------------------------------------------------------------

    async def upsert(self, records: Sequence[VectorRecord], *, model: str) -> None:
        quoted_model(model)
        by_dim: dict[int, list[VectorRecord]] = defaultdict(list)
        for record in records:
            by_dim[len(record.vector)].append(record)
        for dim, group in by_dim.items():
            await self._run(self._upsert_sync, self.collection_name(dim), dim, group, model)

    def _upsert_sync(self, collection: str, dim: int, records: list[VectorRecord], model: str) -> None:
        self._ensure_collection(collection, dim)
        for start in range(0, len(records), UPSERT_BATCH):
            rows = [_row(r, model) for r in records[start : start + UPSERT_BATCH]]
            self._client.upsert(collection, rows)

    async def delete_documents(self, tenant_id: uuid.UUID, document_ids: Sequence[uuid.UUID]) -> None:
        if document_ids:
            await self._run(self._delete_sync, tenant_filter(tenant_id, "document_id", document_ids))

    async def delete_chunks(self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID]) -> None:
        if chunk_ids:
            await self._run(self._delete_sync, tenant_filter(tenant_id, "chunk_id", chunk_ids))

    def _delete_sync(self, expression: str) -> None:
        for collection in self._collections():
            self._client.delete(collection, filter=expression)

    # -- a tenant's change of embedding model --------------------------------------------------

    async def stage(self, records: Sequence[VectorRecord], *, model: str) -> None:
        """Write the new model's vectors beside the old ones (the keys differ by model)."""
        await self.upsert(records, model=model)

    async def switch(self, session: AsyncSession, tenant_id: uuid.UUID, model: str) -> None:
        """Nothing to do: every vector of `model` was staged, and searches name the model."""

    async def prune_models(self, tenant_id: uuid.UUID, keep: Sequence[str]) -> None:
        expression = tenant_filter(tenant_id)
        if keep:
            expression += f" and model not in {model_list(keep)}"
        await self._run(self._delete_sync, expression)

    # -- reads --------------------------------------------------------------------------------

    async def search(
        self,
        tenant_id: uuid.UUID,
        knowledge_base_ids: Sequence[uuid.UUID],
        vector: Sequence[float],
        *,
        model: str,
        top_k: int,
    ) -> list[VectorHit]:
        if not knowledge_base_ids or top_k < 1:
            return []
        expression = search_filter(tenant_id, knowledge_base_ids, model)
        collection = self.collection_name(len(vector))
        return await self._run(self._search_sync, collection, list(vector), expression, top_k)

    def _search_sync(
        self, collection: str, vector: list[float], expression: str, top_k: int
    ) -> list[VectorHit]:
        if not self._exists(collection):
            return []
        results = self._client.search(
            collection,
            data=[vector],
            filter=expression,
            limit=top_k,
            output_fields=["chunk_id", "document_id", "knowledge_base_id"],
            search_params={"metric_type": "COSINE", "params": self._search_params(top_k)},
        )
        return [_hit(hit) for hit in results[0]]

    def _search_params(self, top_k: int) -> dict[str, int]:
        if self._index_type == "HNSW":
            return {"ef": max(self._settings.hnsw_ef, top_k)}
        if self._index_type == "IVF_FLAT":
            return {"nprobe": IVF_NPROBE}
        return {}

    async def chunk_ids(
        self,
        tenant_id: uuid.UUID,
        document_ids: Sequence[uuid.UUID] | None = None,
        *,
        model: str | None = None,
    ) -> set[uuid.UUID]:
        if document_ids is None:
            expression = tenant_filter(tenant_id)
        elif not document_ids:
            return set()
        else:
            expression = tenant_filter(tenant_id, "document_id", list(document_ids))
        if model is not None:
            expression += f" and model == {quoted_model(model)}"
        return await self._run(self._chunk_ids_sync, expression)

    def _chunk_ids_sync(self, expression: str) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for collection in self._collections():
            iterator = self._client.query_iterator(
                collection, batch_size=QUERY_BATCH, filter=expression, output_fields=["chunk_id"]
            )
            try:
                while batch := iterator.next():
                    found.update(uuid.UUID(row["chunk_id"]) for row in batch)
            finally:
                iterator.close()
        return found

    async def vectors(
        self, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID], *, model: str
    ) -> dict[uuid.UUID, StoredVector]:
        if not chunk_ids:
            return {}
        expression = f"{tenant_filter(tenant_id, 'chunk_id', chunk_ids)} and model == {quoted_model(model)}"
        return await self._run(self._vectors_sync, expression, len(chunk_ids))

    def _vectors_sync(self, expression: str, limit: int) -> dict[uuid.UUID, StoredVector]:
        found: dict[uuid.UUID, StoredVector] = {}
        for collection in self._collections():
            rows = self._client.query(
                collection, filter=expression, output_fields=["chunk_id", "vector"], limit=limit
            )
            found.update(
                {uuid.UUID(row["chunk_id"]): np.asarray(row["vector"], dtype=np.float32) for row in rows}
            )
        return found

    async def close(self) -> None:
        await self._run(self._client.close)
        if self._lite:
            await self._run(_release_lite_server, self._uri)

    # -- collections --------------------------------------------------------------------------

    def _collections(self) -> list[str]:
        names: list[str] = self._client.list_collections()
        return [name for name in names if self._family.fullmatch(name)]

    def _exists(self, collection: str) -> bool:
        if collection in self._known:
            return True
        if not self._client.has_collection(collection):
            return False
        fields = {field["name"] for field in self._client.describe_collection(collection)["fields"]}
        if "id" not in fields:
            raise RuntimeError(
                f"Milvus collection {collection} predates model-qualified keys: drop it, then run "
                "`cbp kb audit --fix` to re-embed its chunks"
            )
        self._client.load_collection(collection)
        self._known.add(collection)
        return True

    def _ensure_collection(self, collection: str, dim: int) -> None:
        if collection in self._known:
            return
        with self._create_lock:
            if not self._exists(collection):
                self._client.create_collection(
                    collection,
                    schema=self._schema(dim),
                    index_params=self._index_params(),
                    consistency_level="Strong",
                )
                self._known.add(collection)

    def _schema(self, dim: int) -> Any:
        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LENGTH)
        schema.add_field("chunk_id", DataType.VARCHAR, max_length=UUID_LENGTH)
        schema.add_field(
            "tenant_id",
            DataType.VARCHAR,
            max_length=UUID_LENGTH,
            is_partition_key=self._settings.partitions_enabled,
        )
        schema.add_field("knowledge_base_id", DataType.VARCHAR, max_length=UUID_LENGTH)
        schema.add_field("document_id", DataType.VARCHAR, max_length=UUID_LENGTH)
        schema.add_field("model", DataType.VARCHAR, max_length=MODEL_MAX_LENGTH)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        return schema

    def _index_params(self) -> Any:
        params = self._client.prepare_index_params()
        params.add_index(
            "vector", index_type=self._index_type, metric_type="COSINE", params=self._build_params()
        )
        for field in ("chunk_id", "tenant_id", "knowledge_base_id", "document_id", "model"):
            params.add_index(field, index_type="INVERTED")
        return params

    def _build_params(self) -> dict[str, int]:
        if self._index_type == "HNSW":
            return {"M": self._settings.hnsw_m, "efConstruction": self._settings.hnsw_ef_construction}
        if self._index_type == "IVF_FLAT":
            return {"nlist": IVF_NLIST}
        return {}


def _row(record: VectorRecord, model: str) -> dict[str, Any]:
    return {
        "id": vector_id(record.chunk_id, model),
        "chunk_id": str(record.chunk_id),
        "tenant_id": str(record.tenant_id),
        "knowledge_base_id": str(record.knowledge_base_id),
        "document_id": str(record.document_id),
        "model": model,
        "vector": [float(x) for x in record.vector],
    }


def _hit(hit: Any) -> VectorHit:
    entity = hit["entity"]
    return VectorHit(
        chunk_id=uuid.UUID(entity["chunk_id"]),
        document_id=uuid.UUID(entity["document_id"]),
        knowledge_base_id=uuid.UUID(entity["knowledge_base_id"]),
        score=float(hit["distance"]),  # COSINE: Milvus reports the similarity itself
    )


_lite_users: dict[str, int] = defaultdict(int)
_lite_lock = threading.Lock()


def _release_lite_server(uri: str) -> None:
    """Stop the in-process milvus-lite server when no store here uses that file any more."""
    path = str(Path(uri).resolve())
    with _lite_lock:
        _lite_users[path] -= 1
        if _lite_users[path] > 0:
            return
        del _lite_users[path]
    from milvus_lite.server_manager import server_manager_instance  # type: ignore[import-untyped]

    server_manager_instance.release_server(path)


def _acquire_lite_server(uri: str) -> None:
    with _lite_lock:
        _lite_users[str(Path(uri).resolve())] += 1
