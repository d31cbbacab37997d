from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

RESERVED_NAMES = frozenset({"default"})

Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$"),
    Field(description="The model id clients send: lower-case letters, digits, `.`, `_`, `-`."),
]
Language = Literal["it", "en"]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    system_prompt: Annotated[str, StringConstraints(max_length=8000)] | None = Field(
        None, description="Replaces the platform's instructions (answer only from the sources, cite them)."
    )
    persona: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Who the assistant is and how it speaks, added to the instructions."
    )
    dont_know_messages: dict[Language, Message] | None = Field(
        None,
        description="What to answer when the sources are not enough, per language: "
        '{"it": "...", "en": "..."}.',
    )
    knowledge_base_ids: list[uuid.UUID] | None = Field(
        None, max_length=50, description="Knowledge bases to search; empty: the tenant's default search."
    )
    chat_model: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None,
        description="Upstream chat model; unset: OPENAI_CHAT_MODEL (OPENAI_EXPENSIVE_MODEL for hard "
        "questions).",
    )
    temperature: float | None = Field(None, ge=0, le=2, description="Default sampling temperature.")
    max_tokens: int | None = Field(None, ge=1, le=32000, description="Default longest answer, in tokens.")
    max_sources: int | None = Field(
        None, ge=1, le=20, description="Most sources given to the model (default 6)."
    )
    min_citations: int | None = Field(None, ge=0, le=20, description="Overrides RAG_MIN_CITATIONS.")
    min_confidence: float | None = Field(None, ge=0, le=1, description="Overrides RAG_MIN_CONFIDENCE.")
    force_if_has_citations: bool | None = Field(None, description="Overrides RAG_FORCE_IF_HAS_CITATIONS.")


def _not_reserved(name: str) -> str:
    if name in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved")
    return name


class AssistantCreate(_Fields):
    name: Name
    is_default: bool = Field(False, description="Answers requests that name no assistant profile.")

    @field_validator("name")
    @classmethod
    def _name_not_reserved(cls, name: str) -> str:
        return _not_reserved(name)


class AssistantUpdate(_Fields):
    name: Name | None = None
    is_default: bool | None = None

    @field_validator("name")
    @classmethod
    def _name_not_reserved(cls, name: str | None) -> str | None:
        return None if name is None else _not_reserved(name)


class Assistant(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str
    is_default: bool
    system_prompt: str | None
    persona: str | None
    dont_know_messages: dict[str, Any]
    knowledge_base_ids: list[uuid.UUID]
    chat_model: str | None
    temperature: float | None
    max_tokens: int | None
    max_sources: int | None
    min_citations: int | None
    min_confidence: float | None
    force_if_has_citations: bool | None
    created_at: datetime
    updated_at: datetime
