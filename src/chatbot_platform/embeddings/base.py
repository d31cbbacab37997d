"""The embedder interface every provider implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class EmbeddingError(Exception):
    """Embeddings could not be computed; the message is safe to show (no secrets)."""


class Embedder(Protocol):
    """Vectors for passages (documents) and queries; models with roles (e5) apply them inside."""

    @property
    def model(self) -> str:
        """Stable id stored on every chunk, e.g. `multilingual-e5-small` or `text-embedding-3-small`."""
        ...

    @property
    def dim(self) -> int: ...

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...

    async def aclose(self) -> None: ...
