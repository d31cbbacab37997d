"""The service desk's numbers: tiles, charts drawn on the server as SVG (no script, no library),
top questions and sources, a date range and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatbot_platform.admin.auth import Admin, Permission
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import render
from chatbot_platform.analytics import dashboard
from chatbot_platform.analytics.endpoints import AnalyticsDisabled
from chatbot_platform.analytics.schemas import Dashboard, DayLine
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/t/{slug}/analytics")
MAX_DAYS = 366
CHART_WIDTH = 720
CHART_HEIGHT = 180
AXIS = 24  # room under the bars for the first and last day's labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: int
    first_day: str
    last_day: str


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def period_of(since: date | None, until: date | None) -> Period:
    """The chosen days (default: the last 30), at most a year, in order."""
    end = until or utcnow().date()
    start = since or end - timedelta(days=dashboard.DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return Period(start, end)


Series = tuple[str, str, dict[date, int]]  # fill colour, tooltip ("{day}: {value} …"), values


def stacked_chart(days: list[date], series: list[Series]) -> Chart:
    """One bar per day, the series stacked bottom-up, each bar with its tooltip."""
    totals = [sum(values.get(d, 0) for _, _, values in series) for d in days]
    top = max(totals, default=0) or 1
    slot = CHART_WIDTH / max(len(days), 1)
    plot = CHART_HEIGHT - AXIS
    bars: list[Bar] = []
    for n, day in enumerate(days):
        base = float(plot)
        for fill, caption, values in series:
            value = values.get(day, 0)
            if not value:
                continue
            height = plot * value / top
            base -= height
            bars.append(
                Bar(
                    x=round(n * slot + slot * 0.1, 2),
                    y=round(base, 2),
                    width=round(slot * 0.8, 2),
                    height=round(height, 2),
                    fill=fill,
                    label=caption.format(day=day.isoformat(), value=value),
                )
            )
    first, last = (days[0].isoformat(), days[-1].isoformat()) if days else ("", "")
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, top, first, last)


def _by_day(lines: list[DayLine], name: str) -> dict[date, int]:
    return {line.day: int(getattr(line, name)) for line in lines}


def charts(report: Dashboard, period: Period, locale: str) -> dict[str, Chart]:
    def caption(key: str) -> str:
        return "{day}: {value} " + translate(locale, key)

    lines = report.days
    positive = ("#15803d", caption("analytics.positive"), _by_day(lines, "feedback_positive"))
    negative = ("#b91c1c", caption("analytics.negative"), _by_day(lines, "feedback_negative"))
    questions = ("#2563eb", caption("analytics.questions"), _by_day(lines, "questions"))
    return {
        "questions": stacked_chart(period.days, [questions]),
        "feedback": stacked_chart(period.days, [positive, negative]),
    }


@router.get("", response_class=HTMLResponse)
async def analytics_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> Response:
    admin.require(Permission.VIEW)
    period = period_of(since, until)
    if not settings.features.analytics_enabled:
        return render(request, "analytics.html", report=None, period=period, charts={})
    report = await dashboard.dashboard(
        session,
        admin.tenant_id,
        since=period.since,
        until=period.until,
        telemetry=settings.rag.telemetry_enabled,
    )
    drawn = charts(report, period, getattr(request.state, "locale", "it"))
    return render(request, "analytics.html", report=report, period=period, charts=drawn)


@router.get("/export")
async def export(
    admin: Admin,
    session: SessionDep,
    settings: SettingsDep,
    report: Annotated[Literal["daily", "top_questions"], Query()] = "daily",
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> Response:
    admin.require(Permission.VIEW)
    if not settings.features.analytics_enabled:
        raise AnalyticsDisabled()
    period = period_of(since, until)
    data = await dashboard.dashboard(
        session,
        admin.tenant_id,
        since=period.since,
        until=period.until,
        telemetry=settings.rag.telemetry_enabled,
    )
    body = dashboard.daily_csv(data) if report == "daily" else dashboard.top_questions_csv(data)
    name = f"analytics-{report}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
