from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Exchange:
    """A question and the answer given, as stored."""

    question: str
    answer: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    retrieval: dict[str, Any] | None = None
    outcome: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    first_token_ms: int | None = None


class Message(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    role: str
    content: str
    citations: list[dict[str, Any]]
    retrieval: dict[str, Any] | None
    outcome: str | None = Field(description="answered, extractive or dont_know (answers only).")
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None = Field(description="From the request to the end of the answer.")
    first_token_ms: int | None = Field(description="From the request to the first piece of the answer.")
    created_at: datetime


class Conversation(BaseModel):
    conversation_id: str = Field(description="The id the client chose (X-Conversation-Id).")
    channel: str
    end_user: str | None
    message_count: int
    created_at: datetime
    last_message_at: datetime | None


class ConversationDetail(Conversation):
    messages: list[Message]


class Erasure(BaseModel):
    """What was deleted."""

    conversations: int
    messages: int
    feedback: int
    events: int
    submissions: int
