from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchFilters(Strict):
    document_ids: list[uuid.UUID] | None = Field(None, max_length=1000, description="Only these documents.")
    external_ids: list[str] | None = Field(
        None, max_length=1000, description="Only documents with these external ids."
    )
    metadata: dict[str, Any] | None = Field(
        None, description="Only documents whose metadata contains these key/value pairs."
    )


class HistoryMessage(Strict):
    role: str = Field(pattern="^(user|assistant|system)$")
    content: str = Field(max_length=20000)


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=4000)
    knowledge_base_ids: list[uuid.UUID] | None = Field(
        None,
        max_length=50,
        description="Knowledge bases to search; all the tenant's when omitted (the default one when "
        "MULTI_KB_SEARCH_ENABLED is off).",
    )
    top_k: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "vector", "fulltext"] = Field(
        "hybrid", description="hybrid: the whole pipeline; vector or fulltext: that leg's own ranking alone."
    )
    trace: bool = Field(False, description="Return every stage with its candidates, scores and timings.")
    filters: SearchFilters | None = None
    history: list[HistoryMessage] | None = Field(
        None, max_length=50, description="Earlier messages, for a standalone rewrite of a follow-up question."
    )


class Neighbor(BaseModel):
    chunk_id: uuid.UUID
    ordinal: int
    text: str


class SearchResult(BaseModel):
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    external_id: str | None
    knowledge_base_id: uuid.UUID
    title: str
    url: str | None
    heading_path: list[str]
    page: int | None
    text: str
    score: float
    neighbors: list[Neighbor] = Field(default_factory=list, description="Adjacent chunks, in document order.")


class SearchResponse(BaseModel):
    results: list[SearchResult]
    query: str = Field(description="The query searched (after any rewrite).")
    confidence: float = Field(
        0.0,
        description="min(1, 10 x the sum of the top 3 fused scores): the scale RAG_MIN_CONFIDENCE is set in.",
    )
    knowledge_base_ids: list[uuid.UUID] = Field(
        default_factory=list, description="The knowledge bases searched."
    )
    cached: bool = False
    trace: list[dict[str, Any]] | None = None
