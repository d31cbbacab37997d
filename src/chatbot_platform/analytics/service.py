"""Token usage and cost per tenant. Services never commit."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.analytics.pricing import cost
from chatbot_platform.analytics.repository import UsageRepo
from chatbot_platform.analytics.schemas import UsageLine, UsageReport
from chatbot_platform.models import UsageRecord


async def record_usage(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    kind: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int = 0,
    api_key_id: uuid.UUID | None = None,
) -> UsageRecord:
    record = UsageRecord(
        api_key_id=api_key_id,
        kind=kind,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost(model, prompt_tokens, completion_tokens),
    )
    return await UsageRepo(session, tenant_id).add(record)


async def usage_report(
    session: AsyncSession, tenant_id: uuid.UUID, *, since: datetime | None, until: datetime | None
) -> UsageReport:
    where = []
    if since is not None:
        where.append(UsageRecord.created_at >= since)
    if until is not None:
        where.append(UsageRecord.created_at < until)
    rows = await UsageRepo(session, tenant_id).grouped(
        UsageRecord.kind,
        UsageRecord.model,
        func.count(),
        func.sum(UsageRecord.prompt_tokens),
        func.sum(UsageRecord.completion_tokens),
        func.sum(UsageRecord.cost_usd),
        group_by=[UsageRecord.kind, UsageRecord.model],
        where=where,
    )
    items = [
        UsageLine(
            kind=row[0],
            model=row[1],
            requests=int(row[2]),
            prompt_tokens=int(row[3] or 0),
            completion_tokens=int(row[4] or 0),
            cost_usd=Decimal(row[5] or 0),
        )
        for row in rows
    ]
    total = sum((item.cost_usd for item in items), Decimal(0))
    return UsageReport(since=since, until=until, items=items, total_cost_usd=total)
