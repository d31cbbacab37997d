from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Language = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z_]{2,63}$"),
    Field(description="A PostgreSQL text-search configuration (italian, english, simple, ...)."),
]


class KnowledgeBaseSettings(BaseModel):
    """Overrides of the platform's RAG_* settings for one knowledge base (unset: inherited)."""

    model_config = ConfigDict(extra="forbid")

    chunk_max_chars: int | None = Field(None, ge=200, le=20000, description="Overrides RAG_CHUNK_MAX_CHARS.")
    chunk_overlap_chars: int | None = Field(
        None, ge=0, le=5000, description="Overrides RAG_CHUNK_OVERLAP_CHARS."
    )
    vector_top_k: int | None = Field(None, ge=1, le=1000, description="Overrides RAG_VECTOR_TOP_K.")
    bm25_top_k: int | None = Field(None, ge=1, le=1000, description="Overrides RAG_BM25_TOP_K.")
    rrf_k: int | None = Field(None, ge=1, le=1000, description="Overrides RAG_RRF_K.")
    hybrid: bool | None = Field(None, description="Overrides RAG_FEAT_HYBRID.")
    reranker: bool | None = Field(None, description="Overrides RAG_FEAT_RERANKER.")
    reranker_driver: Literal["embedding", "llm"] | None = Field(
        None, description="Overrides RAG_RERANKER_DRIVER."
    )
    multiquery: bool | None = Field(None, description="Overrides RAG_FEAT_MULTIQUERY.")
    mmr_lambda: float | None = Field(None, ge=0, le=1, description="Overrides RAG_MMR_LAMBDA.")
    mmr_take: int | None = Field(None, ge=1, le=1000, description="Overrides RAG_MMR_TAKE.")
    neighbor_radius: int | None = Field(None, ge=0, le=20, description="Overrides RAG_NEIGHBOR_RADIUS.")
    vector_weight: float | None = Field(
        None, ge=0, le=10, description="Weight of the vector leg in the fusion (default by language)."
    )
    keyword_weight: float | None = Field(
        None, ge=0, le=10, description="Weight of the full-text leg in the fusion (default by language)."
    )
    rerank_vector_share: float | None = Field(
        None, ge=0, le=1, description="Share of the embedding similarity in the reranker's score."
    )
    synonyms: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], list[str]] | None = Field(
        None, description='Query expansion for full-text search, e.g. {"comune": ["municipio"]}.'
    )


class KnowledgeBaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    language: Language | None = Field(None, description="Defaults to the tenant's language.")
    settings: KnowledgeBaseSettings = Field(default_factory=KnowledgeBaseSettings)


class KnowledgeBaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    language: Language | None = None
    is_default: bool | None = Field(None, description="true makes this the tenant's default knowledge base.")
    settings: KnowledgeBaseSettings | None = Field(
        None, description="Replaces the overrides (null fields inherit)."
    )


class KnowledgeBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    language: str
    is_default: bool
    settings: KnowledgeBaseSettings
    created_at: datetime
    updated_at: datetime
