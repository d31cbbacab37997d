"""A known set of conversations for the transcript and analytics tests, written through the
conversation service, with its times moved to fixed days."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from chatbot_platform.analytics import service as analytics
from chatbot_platform.conversations import service as conversations
from chatbot_platform.conversations.schemas import Exchange
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.db import Database
from chatbot_platform.models import DeskHandoff, WidgetEvent, WidgetFeedback

ORARI = {"id": 1, "title": "Orari", "url": "https://comune.example/orari"}
TARIFFE = {"id": 2, "title": "Tariffe", "url": "https://comune.example/tariffe"}


@dataclass(frozen=True)
class Seeded:
    day1: datetime
    day2: datetime
    old: datetime


def _exchange(question: str, outcome: str, latency: int, citations: list[dict[str, object]]) -> Exchange:
    return Exchange(
        question=question,
        answer=f"Risposta a: {question}",
        citations=citations,
        retrieval={"trace_id": f"trace-{latency}", "outcome": outcome},
        outcome=outcome,
        model="gpt-4o-mini" if outcome == "answered" else None,
        prompt_tokens=100,
        completion_tokens=20,
        latency_ms=latency,
        first_token_ms=latency // 2,
    )


async def seed(database: Database, database_url: str, tenant: str) -> Seeded:
    """c1 (visitor v1): two answered questions on day 1, the first rated +1 on day 2;
    c2 (v2): an "I don't know" on day 1, rated -1 and handed to a human on day 2, one widget event;
    c3 (v3): an extractive answer on day 2; old (v4): an answer 100 days ago."""
    tenant_id = uuid.UUID(tenant)
    today = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
    day1, day2, old = today - timedelta(days=10), today - timedelta(days=9), today - timedelta(days=100)
    plan = [
        ("c1", "v1", day1, _exchange("Quali sono gli orari?", "answered", 100, [ORARI])),
        ("c1", "v1", day1, _exchange("Quali sono gli orari?", "answered", 200, [ORARI, TARIFFE])),
        ("c2", "v2", day1, _exchange("Chi è il sindaco?", "dont_know", 300, [])),
        ("c3", "v3", day2, _exchange("quali sono gli orari? ", "extractive", 400, [ORARI])),
        ("old", "v4", old, _exchange("Domanda vecchia", "answered", 500, [TARIFFE])),
    ]
    ids: dict[str, uuid.UUID] = {}
    async with database.transaction() as session:
        for external_id, visitor, _, exchange in plan:
            stored = await conversations.record_exchange(
                session, tenant_id, external_id, exchange, end_user=visitor, channel="widget"
            )
            ids[external_id] = stored.id
        for when in (day1, day1, day2):
            row = await analytics.record_usage(
                session,
                tenant_id,
                kind="chat",
                model="gpt-4o-mini",
                prompt_tokens=1000,
                completion_tokens=500,
            )
            row.created_at = when
        await session.flush()
    connection = await asyncpg.connect(database_url)
    try:
        for external_id, _, when, _ in plan:
            await connection.execute(
                "UPDATE conversation_messages SET created_at = $1::timestamptz + (created_at - (SELECT"
                " min(created_at) FROM conversation_messages WHERE conversation_id = $3))"
                " WHERE tenant_id = $2 AND conversation_id = $3",
                when,
                tenant_id,
                ids[external_id],
            )
            await connection.execute(
                "UPDATE conversations SET created_at = $1, last_message_at = $1"
                " WHERE tenant_id = $2 AND id = $3",
                when,
                tenant_id,
                ids[external_id],
            )
        answers = {
            row["conversation_id"]: row["id"]
            for row in await connection.fetch(
                "SELECT DISTINCT ON (conversation_id) conversation_id, id FROM conversation_messages"
                " WHERE tenant_id = $1 AND role = 'assistant' ORDER BY conversation_id, created_at",
                tenant_id,
            )
        }
    finally:
        await connection.close()
    async with database.transaction() as session:
        session.add_all(
            [
                WidgetFeedback(
                    tenant_id=tenant_id,
                    message_id=answers[ids["c1"]],
                    conversation_id=ids["c1"],
                    visitor_id="v1",
                    rating=1,
                    created_at=day2,
                ),
                WidgetFeedback(
                    tenant_id=tenant_id,
                    message_id=answers[ids["c2"]],
                    conversation_id=ids["c2"],
                    visitor_id="v2",
                    rating=-1,
                    comment="Non utile",
                    created_at=day2,
                ),
                DeskHandoff(
                    tenant_id=tenant_id,
                    conversation_id=ids["c2"],
                    visitor_id="v2",
                    status="closed",
                    reason="dont_know",
                    priority=0,
                    requested_at=day2,
                    taken_at=day2 + timedelta(seconds=30),
                    ended_at=day2 + timedelta(minutes=5),
                ),
                WidgetEvent(tenant_id=tenant_id, kind="open", visitor_id="v2", data={}),
            ]
        )
    return Seeded(day1, day2, old)
