"""The product's own types for a question and its answer (channels translate to and from them)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field


class Outcome(enum.StrEnum):
    ANSWERED = "answered"  # the chat model answered from the sources
    EXTRACTIVE = "extractive"  # no chat model: the best passages, quoted
    DONT_KNOW = "dont_know"  # the sources were not enough: the tenant's "I don't know" message


@dataclass(frozen=True)
class Turn:
    role: str  # user, assistant or system
    content: str


@dataclass(frozen=True)
class Options:
    max_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    json: bool = False  # the answer must be a JSON object


@dataclass(frozen=True)
class Question:
    """What a channel asks: the conversation so far, whose last user turn is the question."""

    tenant_id: uuid.UUID
    turns: list[Turn]
    assistant: str = "default"  # an assistant profile, a knowledge base (kb:<name or id>) or "default"
    conversation_id: str | None = None
    end_user: str | None = None
    api_key_id: uuid.UUID | None = None
    options: Options = field(default_factory=Options)
    trace: bool = False


class Citation(BaseModel):
    id: int = Field(description="The number of the source, as in the answer's [n] markers.")
    title: str
    url: str | None
    document_id: uuid.UUID
    external_id: str | None
    chunk_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    snippet: str = Field(description="The source's text the model was given (shortened).")
    score: float


class Retrieval(BaseModel):
    confidence: float = Field(description="On the scale of RAG_MIN_CONFIDENCE.")
    knowledge_base_ids: list[uuid.UUID]
    trace_id: str = Field(description="The request id: the log lines of this answer carry it.")
    query: str = Field(description="The question searched, after any follow-up rewrite.")
    outcome: Outcome
    trace: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    retrieval: Retrieval
    finish_reason: str  # stop or length
    usage: TokenUsage
    model: str | None  # the upstream model, None when none answered


@dataclass(frozen=True)
class TextDelta:
    """A piece of a streamed answer."""

    text: str


@dataclass(frozen=True)
class Finished:
    """The end of a streamed answer, with everything known only then."""

    answer: Answer


AnswerEvent = TextDelta | Finished
