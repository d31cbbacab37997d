"""GDPR: transcripts older than the tenant's retention are purged on a schedule, and one visitor's
data is erased on request. Services never commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.conversations.repository import ConversationRepo, EventRepo, FeedbackRepo, MessageRepo
from chatbot_platform.desk import config as desk_config
from chatbot_platform.desk import forms
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models import Conversation, ConversationMessage, WidgetEvent, WidgetFeedback
from chatbot_platform.scheduler.registry import PeriodicTask, register

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger("chatbot_platform.conversations.privacy")
BATCH = 500


@dataclass
class Erased:
    conversations: int = 0
    messages: int = 0
    feedback: int = 0
    events: int = 0
    submissions: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def _delete_conversations(session: AsyncSession, tenant_id: uuid.UUID, *where: object) -> Erased:
    repo = ConversationRepo(session, tenant_id)
    erased = Erased()
    while rows := await repo.list(*where, limit=BATCH):  # type: ignore[arg-type]
        ids = [r.id for r in rows]
        erased.messages += await MessageRepo(session, tenant_id).count(
            ConversationMessage.conversation_id.in_(ids)
        )
        erased.feedback += await FeedbackRepo(session, tenant_id).count(
            WidgetFeedback.conversation_id.in_(ids)
        )
        await repo.delete_many(rows)
        erased.conversations += len(rows)
    return erased


async def erase_visitor(session: AsyncSession, tenant_id: uuid.UUID, visitor_id: str) -> Erased:
    """Everything stored about one visitor (widget visitor id, or the API's end-user id): conversations
    with their messages, feedback and handoffs, widget events, form submissions."""
    erased = await _delete_conversations(session, tenant_id, Conversation.end_user == visitor_id)
    erased.feedback += await FeedbackRepo(session, tenant_id).delete_where(
        WidgetFeedback.visitor_id == visitor_id
    )
    erased.events = await EventRepo(session, tenant_id).delete_where(WidgetEvent.visitor_id == visitor_id)
    erased.submissions = await forms.delete_submissions(session, tenant_id, visitor_id=visitor_id)
    return erased


async def purge_older_than(session: AsyncSession, tenant_id: uuid.UUID, cutoff: datetime) -> Erased:
    """Conversations whose last message (or creation) is older than `cutoff`, and old events and
    form submissions."""
    last_activity = func.coalesce(Conversation.last_message_at, Conversation.created_at)
    erased = await _delete_conversations(session, tenant_id, last_activity < cutoff)
    erased.events = await EventRepo(session, tenant_id).delete_where(WidgetEvent.created_at < cutoff)
    erased.submissions = await forms.delete_submissions(session, tenant_id, before=cutoff)
    return erased


async def purge_tenant_now(
    session: AsyncSession, tenant_id: uuid.UUID, now: datetime | None = None
) -> Erased | None:
    """Apply the tenant's retention now; None when it keeps transcripts forever."""
    desk = await desk_config.get(session, tenant_id)
    if desk.retention_days is None:
        return None
    return await purge_older_than(session, tenant_id, (now or utcnow()) - timedelta(days=desk.retention_days))


async def run_due(services: Services, now: datetime) -> int:
    """The scheduler's retention purge: each due tenant is claimed atomically, then purged in its
    own transaction. Returns how many tenants were purged."""
    async with services.database.transaction() as session:
        due = await desk_config.due_for_purge(session, now)
    purged = 0
    for tenant_id in due:
        async with services.database.transaction() as session:
            days = await desk_config.claim_purge(session, tenant_id, now)
            if days is None:
                continue  # another scheduler claimed it
            erased = await purge_older_than(session, tenant_id, now - timedelta(days=days))
        log.info("retention purge", extra={"tenant_id": str(tenant_id), **erased.as_dict()})
        purged += 1
    return purged


register(
    PeriodicTask(
        "conversations.retention_purge",
        run_due,
        "Delete transcripts older than each tenant's retention (checked hourly per tenant).",
    )
)
