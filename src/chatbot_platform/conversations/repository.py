from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import (
    Conversation,
    ConversationMessage,
    DeskHandoff,
    WidgetEvent,
    WidgetFeedback,
)

DELETE_BATCH = 500


@dataclass(frozen=True)
class TranscriptFilters:
    """Which conversations a search or export returns; None means any."""

    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    feedback: str | None = None  # positive, negative, any, none
    handoff: bool | None = None
    channel: str | None = None
    end_user: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ConversationRepo(TenantRepository[Conversation]):
    model = Conversation

    async def get_by_external_id(self, external_id: str) -> Conversation | None:
        return await self.first(Conversation.external_id == external_id)

    def matching(self, f: TranscriptFilters) -> list[ColumnElement[bool]]:
        """The filters as conditions on conversations; each subquery stays inside this tenant."""
        where: list[ColumnElement[bool]] = []
        message = ConversationMessage
        same = [message.conversation_id == Conversation.id, message.tenant_id == self.tenant_id]
        if f.text:
            where.append(exists().where(*same, message.content.ilike(_like(f.text), escape="\\")))
        if f.outcome:
            where.append(exists().where(*same, message.outcome == f.outcome))
        if f.since is not None:
            where.append(func.coalesce(Conversation.last_message_at, Conversation.created_at) >= f.since)
        if f.until is not None:
            where.append(Conversation.created_at < f.until)
        if f.feedback:
            where.append(self._feedback(f.feedback))
        if f.handoff is not None:
            has = exists().where(
                DeskHandoff.conversation_id == Conversation.id, DeskHandoff.tenant_id == self.tenant_id
            )
            where.append(has if f.handoff else ~has)
        if f.channel:
            where.append(Conversation.channel == f.channel)
        if f.end_user:
            where.append(Conversation.end_user == f.end_user)
        return where

    def _feedback(self, kind: str) -> ColumnElement[bool]:
        rated = [
            WidgetFeedback.conversation_id == Conversation.id,
            WidgetFeedback.tenant_id == self.tenant_id,
        ]
        if kind == "positive":
            rated.append(WidgetFeedback.rating > 0)
        elif kind == "negative":
            rated.append(WidgetFeedback.rating < 0)
        condition = exists().where(*rated)
        return ~condition if kind == "none" else condition

    async def delete_many(self, rows: Sequence[Conversation]) -> None:
        """Delete these conversations (their messages, feedback and handoffs go with them)."""
        for row in rows:
            if row.tenant_id != self.tenant_id:
                raise PermissionError("object belongs to another tenant")
            await self.session.delete(row)
        await self.session.flush()


class MessageRepo(TenantRepository[ConversationMessage]):
    model = ConversationMessage

    async def latest(self, conversation: Conversation, limit: int) -> list[ConversationMessage]:
        """The last `limit` messages, oldest first."""
        newest_first = await self.list(
            ConversationMessage.conversation_id == conversation.id,
            order_by=[ConversationMessage.created_at.desc(), ConversationMessage.id.desc()],
            limit=limit,
        )
        return newest_first[::-1]

    async def of_conversations(self, ids: Sequence[uuid.UUID]) -> list[ConversationMessage]:
        return await self.list(
            ConversationMessage.conversation_id.in_(ids),
            order_by=[
                ConversationMessage.conversation_id,
                ConversationMessage.created_at,
                ConversationMessage.id,
            ],
        )


class FeedbackRepo(TenantRepository[WidgetFeedback]):
    """Visitors' ratings (written by the widget), read here for transcripts and erasure."""

    model = WidgetFeedback

    async def delete_where(self, *where: ColumnElement[bool]) -> int:
        return await _delete_in_batches(self, list(where))


class EventRepo(TenantRepository[WidgetEvent]):
    """Widget events (written by the widget), deleted here on erasure and retention."""

    model = WidgetEvent

    async def delete_where(self, *where: ColumnElement[bool]) -> int:
        return await _delete_in_batches(self, list(where))


async def _delete_in_batches(
    repo: TenantRepository[WidgetEvent] | TenantRepository[WidgetFeedback], where: list[ColumnElement[bool]]
) -> int:
    deleted = 0
    while True:
        rows = await repo.list(*where, limit=DELETE_BATCH)
        for row in rows:
            await repo.session.delete(row)
        await repo.session.flush()
        deleted += len(rows)
        if len(rows) < DELETE_BATCH:
            return deleted
