from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class UsageLine(BaseModel):
    kind: str = Field(description="chat or embeddings.")
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


class UsageReport(BaseModel):
    since: datetime | None
    until: datetime | None
    items: list[UsageLine]
    total_cost_usd: Decimal


class DayLine(BaseModel):
    day: date
    questions: int
    answered: int = Field(description="Answered by the model or with quoted passages.")
    dont_know: int
    handoffs: int
    feedback_positive: int
    feedback_negative: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


class Latency(BaseModel):
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    first_token_p50_ms: float | None


class Counted(BaseModel):
    text: str
    count: int


class CitedSource(BaseModel):
    title: str
    url: str | None
    count: int


class Dashboard(BaseModel):
    since: datetime
    until: datetime
    timezone: str = Field(description="Days are counted in the desk's time zone.")
    questions: int
    answered: int
    dont_know: int
    answer_rate: float | None
    dont_know_rate: float | None
    handoffs: int
    feedback_positive: int
    feedback_negative: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latency: Latency | None = Field(description="Null when RAG_TELEMETRY_ENABLED=false.")
    top_questions: list[Counted]
    top_sources: list[CitedSource] | None = Field(description="Null when RAG_TELEMETRY_ENABLED=false.")
    days: list[DayLine]
