"""Transcripts: search a tenant's conversations and export them (CSV or JSON). Services never commit."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.conversations.repository import (
    ConversationRepo,
    FeedbackRepo,
    MessageRepo,
    TranscriptFilters,
)
from chatbot_platform.models import Conversation, ConversationMessage, WidgetFeedback

EXPORT_LIMIT = 5000
CSV_COLUMNS = [
    "conversation_id",
    "channel",
    "end_user",
    "message_id",
    "created_at",
    "role",
    "content",
    "outcome",
    "model",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "trace_id",
    "sources",
    "feedback",
    "feedback_comment",
]


async def search(
    session: AsyncSession, tenant_id: uuid.UUID, filters: TranscriptFilters, *, limit: int, offset: int
) -> tuple[list[Conversation], int]:
    """Matching conversations, most recently active first."""
    repo = ConversationRepo(session, tenant_id)
    where = repo.matching(filters)
    items = await repo.list(
        *where, order_by=[Conversation.updated_at.desc(), Conversation.id], limit=limit, offset=offset
    )
    return items, await repo.count(*where)


async def _load(
    session: AsyncSession, tenant_id: uuid.UUID, filters: TranscriptFilters
) -> tuple[list[Conversation], list[ConversationMessage], dict[uuid.UUID, list[WidgetFeedback]]]:
    conversations, _ = await search(session, tenant_id, filters, limit=EXPORT_LIMIT, offset=0)
    ids = [c.id for c in conversations]
    messages = await MessageRepo(session, tenant_id).of_conversations(ids) if ids else []
    feedback: dict[uuid.UUID, list[WidgetFeedback]] = {}
    if ids:
        for row in await FeedbackRepo(session, tenant_id).list(WidgetFeedback.conversation_id.in_(ids)):
            feedback.setdefault(row.message_id, []).append(row)
    return conversations, messages, feedback


def _sources(message: ConversationMessage) -> list[str]:
    return [str(c.get("url") or c.get("title") or "") for c in message.citations]


def _trace_id(message: ConversationMessage) -> str:
    return str((message.retrieval or {}).get("trace_id") or "")


async def export_csv(session: AsyncSession, tenant_id: uuid.UUID, filters: TranscriptFilters) -> str:
    """One row per message (at most EXPORT_LIMIT conversations), oldest first within a conversation."""
    conversations, messages, feedback = await _load(session, tenant_id, filters)
    by_id = {c.id: c for c in conversations}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for m in messages:
        c = by_id[m.conversation_id]
        ratings = feedback.get(m.id, [])
        writer.writerow(
            [
                _cell(c.external_id),
                c.channel,
                _cell(c.end_user or ""),
                str(m.id),
                m.created_at.isoformat(),
                m.role,
                _cell(m.content),
                m.outcome or "",
                m.model or "",
                "" if m.latency_ms is None else m.latency_ms,
                "" if m.prompt_tokens is None else m.prompt_tokens,
                "" if m.completion_tokens is None else m.completion_tokens,
                _trace_id(m),
                _cell(" | ".join(_sources(m))),
                ";".join(str(r.rating) for r in ratings),
                _cell(" | ".join(r.comment for r in ratings if r.comment)),
            ]
        )
    return out.getvalue()


async def export_json(
    session: AsyncSession, tenant_id: uuid.UUID, filters: TranscriptFilters
) -> list[dict[str, Any]]:
    """Conversations with their messages, citations, retrieval data and feedback."""
    conversations, messages, feedback = await _load(session, tenant_id, filters)
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {c.id: [] for c in conversations}
    for m in messages:
        grouped[m.conversation_id].append(
            {
                "id": str(m.id),
                "role": m.role,
                "content": m.content,
                "created_at": m.created_at.isoformat(),
                "outcome": m.outcome,
                "model": m.model,
                "citations": m.citations,
                "retrieval": m.retrieval,
                "latency_ms": m.latency_ms,
                "first_token_ms": m.first_token_ms,
                "prompt_tokens": m.prompt_tokens,
                "completion_tokens": m.completion_tokens,
                "feedback": [
                    {"rating": r.rating, "comment": r.comment, "created_at": r.created_at.isoformat()}
                    for r in feedback.get(m.id, [])
                ],
            }
        )
    return [
        {
            "conversation_id": c.external_id,
            "channel": c.channel,
            "end_user": c.end_user,
            "created_at": c.created_at.isoformat(),
            "last_message_at": c.last_message_at.isoformat() if c.last_message_at else None,
            "messages": grouped[c.id],
        }
        for c in conversations
    ]


def dumps(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, default=str)


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
