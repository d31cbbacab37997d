"""Caches of retrieval: search results (RAG_CACHE_*) and query embeddings.

Results are keyed by everything that decides them, including each searched knowledge base's
generation (incremented by the database whenever its chunks change, see models/search_index.py),
so a change invalidates them at once in every process, with or without Redis. With Redis
configured both caches are shared by the processes; otherwise each process keeps its own.

Entries are kept as bytes, in Redis and in the process alike: results as JSON, query vectors as
packed float32 (6 KB for 1536 dimensions, where a list of Python floats takes 49 KB; a full local
cache of 4096 such lists was 200 MB).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from redis.asyncio import Redis
from redis.exceptions import RedisError

LOCAL_RESULTS = 2048
LOCAL_EMBEDDINGS = 4096
EMBEDDING_TTL = 24 * 3600


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


class _LocalTTL:
    """A bounded LRU with expiry, for one process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any, ttl: float) -> None:
        self._items[key] = (time.monotonic() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class RetrievalCache:
    def __init__(self, redis: Redis | None, prefix: str = "cbp") -> None:
        self._redis = redis
        self._prefix = f"{prefix}:rag"
        self._results = _LocalTTL(LOCAL_RESULTS)
        self._embeddings = _LocalTTL(LOCAL_EMBEDDINGS)

    async def get_result(self, key: str) -> dict[str, Any] | None:
        raw = await self._get(self._results, f"{self._prefix}:result:{key}")
        value = None if raw is None else json.loads(raw)
        return value if isinstance(value, dict) else None

    async def put_result(self, key: str, value: dict[str, Any], ttl: int) -> None:
        if ttl > 0:
            await self._put(self._results, f"{self._prefix}:result:{key}", json.dumps(value).encode(), ttl)

    async def get_embedding(self, model: str, query: str) -> list[float] | None:
        raw = await self._get(self._embeddings, self._embedding_key(model, query))
        if raw is None or len(raw) % 4:
            return None
        return np.frombuffer(raw, dtype="<f4").tolist()  # type: ignore[no-any-return]

    async def put_embedding(self, model: str, query: str, vector: Sequence[float]) -> None:
        packed = np.asarray(vector, dtype="<f4").tobytes()
        await self._put(self._embeddings, self._embedding_key(model, query), packed, EMBEDDING_TTL)

    def _embedding_key(self, model: str, query: str) -> str:
        return f"{self._prefix}:qvec:{digest(model, query)}"

    async def _get(self, local: _LocalTTL, key: str) -> bytes | None:
        value: bytes | None = local.get(key)
        if value is not None or self._redis is None:
            return value
        try:
            raw = await self._redis.get(key)
        except RedisError:
            return None  # a cache outage costs speed, never a failed search
        return raw if isinstance(raw, bytes) else None

    async def _put(self, local: _LocalTTL, key: str, value: bytes, ttl: int) -> None:
        local.put(key, value, ttl)
        if self._redis is None:
            return
        try:
            await self._redis.set(key, value, ex=ttl)
        except RedisError:
            return
