"""`POST /v1/embeddings` with the tenant's embedding model."""

from __future__ import annotations

import base64
import struct
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.analytics import service as analytics
from chatbot_platform.embeddings.base import EmbeddingError
from chatbot_platform.embeddings.openai import estimate_tokens
from chatbot_platform.embeddings.tenant import tenant_embedder
from chatbot_platform.openai_compat.errors import (
    EmbeddingModelNotFound,
    EmbeddingsFailed,
    InvalidParameter,
    UnsupportedParameters,
)
from chatbot_platform.openai_compat.params import unsupported
from chatbot_platform.openai_compat.schemas import Embedding, EmbeddingList, EmbeddingRequest, EmbeddingUsage
from chatbot_platform.tenants.auth import ApiKeyContext

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAX_INPUTS = 2048
MAX_INPUT_CHARS = 32_000
DEFAULT_ALIAS = "default"


async def create(
    services: Services, session: AsyncSession, key: ApiKeyContext, body: EmbeddingRequest
) -> EmbeddingList:
    if names := unsupported(body):
        raise UnsupportedParameters(names)
    texts = _texts(body)
    embedder = await tenant_embedder(services, session, key.tenant_id)
    if body.model not in {embedder.model, DEFAULT_ALIAS}:
        raise EmbeddingModelNotFound(body.model, embedder.model)
    if body.dimensions not in (None, embedder.dim):
        raise InvalidParameter(
            "dimensions",
            f"dimensions: {embedder.model} has {embedder.dim} dimensions and cannot be shortened here.",
        )
    await session.commit()  # no connection held while the vectors are computed
    try:
        vectors = await embedder.embed_passages(texts)
    except EmbeddingError as error:
        raise EmbeddingsFailed() from error
    tokens = estimate_tokens(texts)
    await analytics.record_usage(
        session,
        key.tenant_id,
        kind="embeddings",
        model=embedder.model,
        prompt_tokens=tokens,
        api_key_id=key.key_id,
    )
    as_base64 = body.encoding_format == "base64"
    data = [
        Embedding(index=i, embedding=_base64(vector) if as_base64 else vector)
        for i, vector in enumerate(vectors)
    ]
    return EmbeddingList(
        data=data, model=embedder.model, usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens)
    )


def _texts(body: EmbeddingRequest) -> list[str]:
    raw = body.input
    texts = [raw] if isinstance(raw, str) else raw
    if not texts or not all(isinstance(t, str) for t in texts):
        raise InvalidParameter(
            "input", "input: send a non-empty string or list of strings (token arrays are not supported)."
        )
    strings = [t for t in texts if isinstance(t, str)]
    if len(strings) > MAX_INPUTS:
        raise InvalidParameter("input", f"input: at most {MAX_INPUTS} texts per request.")
    if any(not t.strip() or len(t) > MAX_INPUT_CHARS for t in strings):
        raise InvalidParameter(
            "input", f"input: every text must be non-empty and at most {MAX_INPUT_CHARS} characters."
        )
    return strings


def _base64(vector: list[float]) -> str:
    """OpenAI's `encoding_format: base64`: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
