from __future__ import annotations

from datetime import datetime
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
