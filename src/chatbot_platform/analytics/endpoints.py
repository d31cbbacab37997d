"""Usage, cost and the dashboard of the calling tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from chatbot_platform.analytics import dashboard, service
from chatbot_platform.analytics.schemas import Dashboard, UsageReport
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.settings import Settings
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


class AnalyticsDisabled(AppError):
    status_code = 404
    code = "analytics_disabled"

    def __init__(self) -> None:
        super().__init__("Analytics are disabled on this platform (ANALYTICS_ENABLED=false).")


async def _dashboard(
    session: SessionDep,
    ctx: ApiKeyContext,
    settings: Settings,
    since: datetime | None,
    until: datetime | None,
) -> Dashboard:
    if not settings.features.analytics_enabled:
        raise AnalyticsDisabled()
    return await dashboard.dashboard(
        session, ctx.tenant_id, since=since, until=until, telemetry=settings.rag.telemetry_enabled
    )


@router.get("/dashboard", response_model=Dashboard)
async def analytics_dashboard(
    session: SessionDep,
    ctx: Reader,
    settings: SettingsDep,
    since: Annotated[datetime | None, Query(description="From this time (default: 30 days ago).")] = None,
    until: Annotated[datetime | None, Query(description="Until this time, exclusive (default: now).")] = None,
) -> Dashboard:
    """Questions per day, answer and "I don't know" rates, handoffs, latency percentiles, tokens and
    cost, top questions and sources, feedback; 404 when ANALYTICS_ENABLED=false."""
    return await _dashboard(session, ctx, settings, since, until)


@router.get("/export", responses={200: {"content": {"text/csv": {}}}})
async def export_analytics(
    session: SessionDep,
    ctx: Reader,
    settings: SettingsDep,
    report: Annotated[Literal["daily", "top_questions"], Query(description="Which table.")] = "daily",
    since: Annotated[datetime | None, Query(description="From this time (default: 30 days ago).")] = None,
    until: Annotated[datetime | None, Query(description="Until this time, exclusive (default: now).")] = None,
) -> Response:
    """The dashboard as CSV: one row per day, or the top questions."""
    data = await _dashboard(session, ctx, settings, since, until)
    body = dashboard.daily_csv(data) if report == "daily" else dashboard.top_questions_csv(data)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="analytics-{report}.csv"'},
    )
