"""The embedder interface every provider implements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class EmbeddingError(Exception):
    """Embeddings could not be computed; the message is safe to show (no secrets)."""


class EmbeddingModelUnavailable(EmbeddingError):
    """A model this deployment does not offer (anymore); the message names those it does."""

    def __init__(self, model: str, offered: Iterable[str]) -> None:
        self.model = model
        self.offered = sorted(offered)
        super().__init__(
            f"The embedding model {model!r} is not available here; choose one of: {', '.join(self.offered)}."
        )


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
