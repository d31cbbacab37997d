"""Usage and cost of the calling tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chatbot_platform.analytics import service
from chatbot_platform.analytics.schemas import UsageReport
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.ANALYTICS_READ))]


@router.get("/usage", response_model=UsageReport)
async def usage(
    session: SessionDep,
    ctx: Reader,
    since: Annotated[datetime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Until this time (exclusive).")] = None,
) -> UsageReport:
    """Requests, tokens and cost per kind (chat, embeddings) and model."""
    return await service.usage_report(session, ctx.tenant_id, since=since, until=until)
