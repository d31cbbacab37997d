"""OpenAI-compatible embeddings over HTTP: batches, retries with backoff, and a shared rate budget."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from pydantic import SecretStr

from chatbot_platform.embeddings.base import EmbeddingError
from chatbot_platform.kit import upstream
from chatbot_platform.kit.ratelimit import Limits, RateBudget, acquire, shared_budget

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.embeddings")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_INPUTS_PER_REQUEST = 256
# Well under OpenAI's 300k tokens per request even for text that tokenizes worse than 4 chars a token.
MAX_CHARS_PER_REQUEST = 200_000
# Only these models can shorten their vectors, so only for them is `dimensions` worth sending.
_NATIVE_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
_RETRY_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries; exponential backoff with jitter between them, or the server's Retry-After."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: half fixed, half random, so clients spread out."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


class _RetryableError(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


def estimate_tokens(texts: Sequence[str]) -> int:
    """A cheap token estimate for budgeting: four characters a token, at least one per input."""
    return sum(max(1, math.ceil(len(text) / 4)) for text in texts)


def openai_budget(settings: Settings, *, redis: Redis | None = None) -> RateBudget:
    """The OpenAI request/token budget: shared by processes through Redis when given, else per process."""
    limits = Limits(
        max_requests=settings.openai.max_requests_per_minute,
        max_tokens=settings.openai.max_tokens_per_minute,
    )
    return shared_budget("openai", limits, redis=redis, key_prefix=settings.cache.prefix)


class OpenAIEmbedder:
    """Embeddings from OpenAI or any server speaking its `/embeddings` API."""

    def __init__(
        self,
        *,
        model: str,
        dim: int,
        base_url: str = DEFAULT_BASE_URL,
        api_key: SecretStr | str | None = None,
        organization: str | None = None,
        project: str | None = None,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        max_inputs: int = MAX_INPUTS_PER_REQUEST,
        max_chars: int = MAX_CHARS_PER_REQUEST,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._model, self._dim = model, dim
        self._secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._url = f"{base_url.rstrip('/')}/embeddings"
        self._host = httpx.URL(base_url).host or base_url
        self._budget = budget
        self._retry = retry or RetryPolicy()
        self._max_inputs, self._max_chars = max_inputs, max_chars
        self._owns_client = client is None
        # Keep as many connections alive as a busy server has queries embedding at once (httpx keeps 20).
        self._client = client or httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=200, max_keepalive_connections=100)
        )
        self._headers = upstream.auth_headers(self._secret, organization, project)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, budget: RateBudget | None = None, **options: Any
    ) -> OpenAIEmbedder:
        """An embedder configured by the OPENAI_* settings; `options` override constructor arguments."""
        config = settings.openai
        defaults: dict[str, Any] = {
            "model": config.embedding_model,
            "dim": config.embedding_dim,
            "base_url": config.base_url,
            "api_key": config.api_key,
            "organization": config.organization,
            "project": config.project,
            "budget": budget,
            "timeout": float(min(60, settings.queue.embedding_timeout)),
            # A request must fit the per-minute token budget, or it could never be granted.
            "max_chars": min(MAX_CHARS_PER_REQUEST, config.max_tokens_per_minute * 4),
        }
        return cls(**{**defaults, **options})

    @property
    def model(self) -> str:
        return self._model

    @property
    def dim(self) -> int:
        return self._dim

    async def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for documents, one request per batch."""
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            vectors.extend(await self._embed_batch(batch))
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        """The vector of one search query (OpenAI models have no query/passage roles)."""
        [vector] = await self._embed_batch([text])
        return vector

    async def aclose(self) -> None:
        """Close the HTTP client if this embedder created it."""
        if self._owns_client:
            await self._client.aclose()

    def _batches(self, texts: Sequence[str]) -> Iterator[list[str]]:
        """Consecutive batches within the input and character limits (a lone long input goes alone)."""
        batch: list[str] = []
        chars = 0
        for text in texts:
            if batch and (len(batch) >= self._max_inputs or chars + len(text) > self._max_chars):
                yield batch
                batch, chars = [], 0
            batch.append(text)
            chars += len(text)
        if batch:
            yield batch

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        payload: dict[str, Any] = {
            "model": self._model,
            # OpenAI refuses empty strings; a space embeds as "nothing" just as well.
            "input": [text or " " for text in batch],
            # base64 float32 is ~4x smaller than JSON numbers and decodes in C; servers that
            # ignore it answer with lists, which are accepted too.
            "encoding_format": "base64",
        }
        native = _NATIVE_DIMENSIONS.get(self._model)
        if native is not None and native != self._dim:
            payload["dimensions"] = self._dim
        body = await self._post(payload, estimate_tokens(batch))
        return self._vectors(body, len(batch))

    async def _post(self, payload: dict[str, Any], tokens: int) -> Any:
        """POST with retries; each try spends from the rate budget."""
        for attempt in range(1, self._retry.attempts + 1):
            if self._budget is not None:
                await acquire(self._budget, requests=1, tokens=tokens)
            try:
                return await self._post_once(payload)
            except _RetryableError as error:
                if attempt == self._retry.attempts:
                    raise self._error(
                        f"failed after {attempt} attempts; last error: {error.reason}"
                    ) from None
                delay = error.delay if error.delay is not None else self._retry.backoff(attempt)
                log.warning(
                    "embedding request failed, retrying",
                    extra={"host": self._host, "attempt": attempt, "reason": error.reason, "delay_s": delay},
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _post_once(self, payload: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(self._url, json=payload, headers=self._headers)
        except httpx.TimeoutException:
            raise _RetryableError("timed out") from None
        except httpx.TransportError as exc:
            raise _RetryableError(f"connection error ({type(exc).__name__})") from None
        if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
            raise _RetryableError(self._describe(response), self._retry_after(response))
        if response.status_code != 200:
            raise self._error(f"refused: {self._describe(response)}")
        try:
            return response.json()
        except ValueError:
            raise self._error("answered with invalid JSON") from None

    def _describe(self, response: httpx.Response) -> str:
        return upstream.describe(response, self._secret)

    def _retry_after(self, response: httpx.Response) -> float | None:
        return upstream.retry_after(response, self._retry.max_delay)

    def _vectors(self, body: Any, expected: int) -> list[list[float]]:
        """The vectors in input order, after checking their count and dimension."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != expected:
            count = len(data) if isinstance(data, list) else "no"
            raise self._error(f"returned {count} vectors for {expected} inputs")
        try:
            rows = sorted(data, key=lambda item: int(item["index"]))
            vectors = [_decode_embedding(row["embedding"]) for row in rows]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise self._error("returned malformed embeddings") from None
        for vector in vectors:
            if len(vector) != self._dim:
                raise self._error(
                    f"returned {len(vector)}-dimensional vectors for {self._model}, "
                    f"expected {self._dim} (OPENAI_EMBEDDING_DIM)"
                )
        return [self._normalised(vector) for vector in vectors]

    def _normalised(self, vector: list[float]) -> list[float]:
        """Unit length: OpenAI vectors are already, compatible servers may not be; stores assume it."""
        array = np.asarray(vector, dtype=np.float64)
        norm = float(np.sqrt(np.dot(array, array)))
        if not math.isfinite(norm) or norm == 0.0:
            raise self._error(f"returned a zero or non-finite vector for {self._model}")
        return vector if abs(norm - 1.0) < 1e-6 else (array / norm).tolist()

    def _error(self, detail: str) -> EmbeddingError:
        """An error whose message names the host and never the API key."""
        return EmbeddingError(self._redact(f"Embedding request to {self._host} {detail}"))

    def _redact(self, text: str) -> str:
        return upstream.redact(text, self._secret)


def _decode_embedding(value: Any) -> list[float]:
    """An embedding as base64 little-endian float32 (what we ask for) or as a list of numbers."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float64).tolist()  # type: ignore[no-any-return]
    return [float(x) for x in value]
