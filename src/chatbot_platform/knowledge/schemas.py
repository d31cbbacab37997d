from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

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
