"""The analytics dashboard's numbers over a period: questions per day, answer and "I don't know"
rates, handoffs, latency percentiles, tokens and cost, top questions and sources, feedback trend.
Days are counted in the desk's time zone. Services never commit."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.analytics.repository import AnswerRepo, FeedbackRepo, HandoffRepo, UsageRepo
from chatbot_platform.analytics.schemas import CitedSource, Counted, Dashboard, DayLine, Latency
from chatbot_platform.desk import config as desk_config
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models import ConversationMessage, DeskHandoff, UsageRecord, WidgetFeedback

DEFAULT_DAYS = 30
TOP = 10
ANSWERED = ("answered", "extractive")
QUESTION_CHARS = 200


def period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    return since or until - timedelta(days=DEFAULT_DAYS), until


def _day(column: Any, timezone: str) -> Any:
    return func.date(func.timezone(timezone, column))


def _within(column: Any, since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [column >= since, column < until]


async def dashboard(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    since: datetime | None,
    until: datetime | None,
    telemetry: bool = True,
) -> Dashboard:
    since, until = period(since, until)
    timezone = (await desk_config.get(session, tenant_id)).timezone
    days = await _days(session, tenant_id, since, until, timezone)
    answers = AnswerRepo(session, tenant_id)
    answer_where = [
        ConversationMessage.role == "assistant",
        *_within(ConversationMessage.created_at, since, until),
    ]
    latency = None
    top_sources = None
    if telemetry:
        p = await answers.percentiles(ConversationMessage.latency_ms, [0.5, 0.9, 0.95, 0.99], answer_where)
        first = await answers.percentiles(ConversationMessage.first_token_ms, [0.5], answer_where)
        latency = Latency(p50_ms=p[0], p90_ms=p[1], p95_ms=p[2], p99_ms=p[3], first_token_p50_ms=first[0])
        top_sources = [
            CitedSource(title=title, url=url or None, count=n)
            for title, url, n in await answers.top_citations(answer_where, TOP)
        ]
    question = func.left(func.lower(func.btrim(ConversationMessage.content)), QUESTION_CHARS)
    question_where = [
        ConversationMessage.role == "user",
        *_within(ConversationMessage.created_at, since, until),
    ]
    top_questions = [Counted(text=t, count=n) for t, n in await answers.top(question, question_where, TOP)]
    total = _sum(days)
    asked = total["questions"]
    return Dashboard(
        since=since,
        until=until,
        timezone=timezone,
        questions=asked,
        answered=total["answered"],
        dont_know=total["dont_know"],
        answer_rate=round(total["answered"] / asked, 4) if asked else None,
        dont_know_rate=round(total["dont_know"] / asked, 4) if asked else None,
        handoffs=total["handoffs"],
        feedback_positive=total["feedback_positive"],
        feedback_negative=total["feedback_negative"],
        prompt_tokens=total["prompt_tokens"],
        completion_tokens=total["completion_tokens"],
        cost_usd=sum((d.cost_usd for d in days), Decimal(0)),
        latency=latency,
        top_questions=top_questions,
        top_sources=top_sources,
        days=days,
    )


def _sum(days: list[DayLine]) -> dict[str, int]:
    keys = ["questions", "answered", "dont_know", "handoffs", "feedback_positive", "feedback_negative"]
    keys += ["prompt_tokens", "completion_tokens"]
    return {k: sum(int(getattr(d, k)) for d in days) for k in keys}


async def _days(
    session: AsyncSession, tenant_id: uuid.UUID, since: datetime, until: datetime, timezone: str
) -> list[DayLine]:
    """One line per day with any activity, oldest first."""
    lines: dict[date, dict[str, Any]] = {}

    def line(day: date) -> dict[str, Any]:
        return lines.setdefault(
            day,
            {
                "questions": 0,
                "answered": 0,
                "dont_know": 0,
                "handoffs": 0,
                "feedback_positive": 0,
                "feedback_negative": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost_usd": Decimal(0),
            },
        )

    day = _day(ConversationMessage.created_at, timezone)
    for d, outcome, n in await AnswerRepo(session, tenant_id).grouped(
        day,
        ConversationMessage.outcome,
        func.count(),
        group_by=[day, ConversationMessage.outcome],
        where=[
            ConversationMessage.role == "assistant",
            *_within(ConversationMessage.created_at, since, until),
        ],
    ):
        line(d)["questions"] += n
        if outcome in ANSWERED:
            line(d)["answered"] += n
        elif outcome == "dont_know":
            line(d)["dont_know"] += n
    handoff_day = _day(DeskHandoff.requested_at, timezone)
    for d, n in await HandoffRepo(session, tenant_id).grouped(
        handoff_day,
        func.count(),
        group_by=[handoff_day],
        where=_within(DeskHandoff.requested_at, since, until),
    ):
        line(d)["handoffs"] += n
    feedback_day = _day(WidgetFeedback.created_at, timezone)
    positive = WidgetFeedback.rating > 0
    for d, is_positive, n in await FeedbackRepo(session, tenant_id).grouped(
        feedback_day,
        positive,
        func.count(),
        group_by=[feedback_day, positive],
        where=_within(WidgetFeedback.created_at, since, until),
    ):
        line(d)["feedback_positive" if is_positive else "feedback_negative"] += n
    usage_day = _day(UsageRecord.created_at, timezone)
    for d, prompt, completion, cost in await UsageRepo(session, tenant_id).grouped(
        usage_day,
        func.sum(UsageRecord.prompt_tokens),
        func.sum(UsageRecord.completion_tokens),
        func.sum(UsageRecord.cost_usd),
        group_by=[usage_day],
        where=_within(UsageRecord.created_at, since, until),
    ):
        line(d)["prompt_tokens"] += int(prompt or 0)
        line(d)["completion_tokens"] += int(completion or 0)
        line(d)["cost_usd"] += Decimal(cost or 0)
    return [DayLine(day=d, **values) for d, values in sorted(lines.items())]


DAILY_COLUMNS = [
    "day",
    "questions",
    "answered",
    "dont_know",
    "answer_rate",
    "dont_know_rate",
    "handoffs",
    "feedback_positive",
    "feedback_negative",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
]


def daily_csv(report: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DAILY_COLUMNS)
    for d in report.days:
        writer.writerow(
            [
                d.day.isoformat(),
                d.questions,
                d.answered,
                d.dont_know,
                _rate(d.answered, d.questions),
                _rate(d.dont_know, d.questions),
                d.handoffs,
                d.feedback_positive,
                d.feedback_negative,
                d.prompt_tokens,
                d.completion_tokens,
                f"{d.cost_usd:.6f}",
            ]
        )
    return out.getvalue()


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.4f}" if whole else ""


def top_questions_csv(report: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "count"])
    for q in report.top_questions:
        writer.writerow(["'" + q.text if q.text[:1] in ("=", "+", "-", "@") else q.text, q.count])
    return out.getvalue()
