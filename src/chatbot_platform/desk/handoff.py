"""Handing a conversation to a human and back. Services never commit; events reach listeners when
the caller's transaction commits (realtime.publish is a NOTIFY).

The widget calls, around its chat path:
- `before_answer(...)` before the bot answers: while an operator handles the conversation the
  visitor's message goes to the operator and the bot must stay silent (`Routing.kind == "human"`);
  a message asking for a human opens a handoff (`"handoff"`); otherwise the bot answers (`"bot"`).
- `after_answer(...)` after an answer: whether to offer a human (after N "I don't know").
- `is_human_handling(...)` when it only needs the yes/no.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.conversations import service as conversations
from chatbot_platform.desk import availability, config, realtime
from chatbot_platform.desk.errors import HandoffNotFound, HandoffStateConflict
from chatbot_platform.desk.intent import wants_human
from chatbot_platform.desk.repository import HandoffRepo, OperatorRepo
from chatbot_platform.desk.schemas import Availability, Handoff, HandoffMetrics
from chatbot_platform.desk.tasks import HANDOFF_REQUESTED, MAIL_TASK, WEBHOOK_TASK
from chatbot_platform.desk.texts import text
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.errors import Conflict
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.kit.repository import scan_across_tenants
from chatbot_platform.models import (
    Conversation,
    ConversationMessage,
    DeskHandoff,
    DeskOperator,
    DeskSettings,
    HandoffStatus,
)
from chatbot_platform.models.desk_handoff import OPEN_STATUSES
from chatbot_platform.tenants import service as tenants

Reason = Literal["visitor_request", "intent", "dont_know"]
SWEEP_MIN_AGE_SECONDS = 10


class _Raced(Conflict):
    def __init__(self) -> None:
        super().__init__("A handoff was opened concurrently.")


@dataclass(frozen=True)
class RequestOutcome:
    handoff: DeskHandoff
    conversation: Conversation
    available: bool
    notice: str


@dataclass(frozen=True)
class Routing:
    """What the widget does with a visitor's message."""

    kind: Literal["bot", "human", "handoff"]
    outcome: RequestOutcome | None = None  # for "handoff"


# -- reading ---------------------------------------------------------------------------------------


def view(row: DeskHandoff, conversation_external_id: str) -> Handoff:
    wait = (row.taken_at or row.ended_at or utcnow()) - row.requested_at
    handling = ((row.ended_at or utcnow()) - row.taken_at) if row.taken_at else None
    return Handoff(
        id=row.id,
        conversation_id=conversation_external_id,
        visitor_id=row.visitor_id,
        status=row.status,
        reason=row.reason,
        priority=row.priority,
        operator=row.operator,
        requested_at=row.requested_at,
        taken_at=row.taken_at,
        ended_at=row.ended_at,
        wait_seconds=wait.total_seconds(),
        handling_seconds=handling.total_seconds() if handling is not None else None,
    )


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID) -> DeskHandoff:
    row = await HandoffRepo(session, tenant_id).get(handoff_id)
    if row is None:
        raise HandoffNotFound()
    return row


async def list_(
    session: AsyncSession, tenant_id: uuid.UUID, *, statuses: list[str], limit: int, offset: int
) -> tuple[list[tuple[DeskHandoff, str]], int]:
    """Handoffs in these statuses: highest priority first, then longest waiting."""
    repo = HandoffRepo(session, tenant_id)
    where = [DeskHandoff.status.in_(statuses)] if statuses else []
    rows = await repo.list(
        *where,
        order_by=[DeskHandoff.priority.desc(), DeskHandoff.requested_at],
        limit=limit,
        offset=offset,
    )
    return await _with_external_ids(session, tenant_id, rows), await repo.count(*where)


async def _with_external_ids(
    session: AsyncSession, tenant_id: uuid.UUID, rows: list[DeskHandoff]
) -> list[tuple[DeskHandoff, str]]:
    ids = {r.conversation_id for r in rows}
    names = await conversations.external_ids(session, tenant_id, ids)
    return [(r, names.get(r.conversation_id, "")) for r in rows]


async def transcript(
    session: AsyncSession, tenant_id: uuid.UUID, handoff: DeskHandoff, *, limit: int = 200
) -> tuple[Conversation, list[ConversationMessage]]:
    conversation = await conversations.get_or_raise(session, tenant_id, handoff.conversation_id)
    return conversation, await conversations.messages(session, tenant_id, conversation, limit=limit)


async def latest_for_conversation(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str
) -> DeskHandoff | None:
    conversation = await conversations.get_by_external_id(session, tenant_id, external_id)
    if conversation is None:
        return None
    return await HandoffRepo(session, tenant_id).latest_for(conversation.id)


async def is_human_handling(
    session: AsyncSession, tenant_id: uuid.UUID, conversation_external_id: str
) -> bool:
    """True while an operator handles the conversation: the bot must not answer it."""
    latest = await latest_for_conversation(session, tenant_id, conversation_external_id)
    return latest is not None and latest.status == HandoffStatus.ACTIVE


# -- availability ----------------------------------------------------------------------------------


async def heartbeat(session: AsyncSession, tenant_id: uuid.UUID, operator: str) -> None:
    """The operator's console is open: present for the next PRESENCE_SECONDS."""
    repo = OperatorRepo(session, tenant_id)
    row = await repo.by_name(operator)
    if row is None:
        with contextlib.suppress(_Raced):  # a second console of the same operator registered it
            await repo.add(DeskOperator(name=operator, last_seen_at=utcnow()), conflict=_Raced())
        return
    row.last_seen_at = utcnow()
    await repo.save(row)


async def away(session: AsyncSession, tenant_id: uuid.UUID, operator: str) -> None:
    repo = OperatorRepo(session, tenant_id)
    row = await repo.by_name(operator)
    if row is not None:
        row.last_seen_at = None
        await repo.save(row)


async def availability_now(
    session: AsyncSession, tenant_id: uuid.UUID, desk: DeskSettings | None = None, now: datetime | None = None
) -> Availability:
    now = now or utcnow()
    desk = desk or await config.get(session, tenant_id)
    present = await OperatorRepo(session, tenant_id).present_since(
        now - timedelta(seconds=availability.PRESENCE_SECONDS)
    )
    hours = availability.within_schedule(desk.schedule, desk.timezone, now)
    names = [o.name for o in present]
    return Availability(available=hours and bool(names), within_hours=hours, operators_present=names)


# -- the lifecycle ---------------------------------------------------------------------------------


async def request(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    conversation_external_id: str,
    *,
    visitor_id: str | None,
    reason: Reason,
    priority: int = 0,
    message: str | None = None,
    channel: str = "widget",
    console_url: str = "",
) -> RequestOutcome:
    """Queue the conversation for an operator (or record that none is available); idempotent while open."""
    conversation = await conversations.get_or_create(
        session, tenant_id, conversation_external_id, end_user=visitor_id, channel=channel
    )
    language = await language_of(session, tenant_id)
    repo = HandoffRepo(session, tenant_id)
    existing = await repo.open_for(conversation.id)
    if existing is not None:
        return RequestOutcome(existing, conversation, True, open_notice(existing, language))
    desk = await config.get(session, tenant_id)
    now = utcnow()
    available = (await availability_now(session, tenant_id, desk, now)).available
    if message:
        await conversations.append_message(session, tenant_id, conversation, "user", message)
    handoff = DeskHandoff(
        conversation_id=conversation.id,
        visitor_id=visitor_id,
        status=HandoffStatus.QUEUED if available else HandoffStatus.UNAVAILABLE,
        reason=reason,
        priority=priority,
        requested_at=now,
        ended_at=None if available else now,
    )
    try:
        await repo.add(handoff, conflict=_Raced())
    except _Raced:
        raced = await repo.open_for(conversation.id)
        if raced is None:
            raise
        return RequestOutcome(raced, conversation, True, open_notice(raced, language))
    notice = text("queued" if available else "unavailable", language)
    await conversations.append_message(session, tenant_id, conversation, "notice", notice)
    await _publish_status(session, tenant_id, handoff, conversation, notice)
    if available:
        _notify_new_request(session, tenant_id, desk, handoff, conversation, language, console_url)
    return RequestOutcome(handoff, conversation, available, notice)


async def set_priority(
    session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID, priority: int
) -> DeskHandoff:
    """Move an open handoff up or down the queue."""
    handoff = await get_or_raise(session, tenant_id, handoff_id)
    if handoff.status not in OPEN_STATUSES:
        raise HandoffStateConflict(handoff.status, "reprioritize")
    handoff.priority = priority
    await HandoffRepo(session, tenant_id).save(handoff)
    conversation = await conversations.get_or_raise(session, tenant_id, handoff.conversation_id)
    await realtime.publish(
        session,
        realtime.tenant_channel(tenant_id),
        {
            "type": "queue",
            "handoff_id": str(handoff.id),
            "conversation_id": conversation.external_id,
            "status": handoff.status,
            "operator": handoff.operator,
            "priority": priority,
            "message": None,
        },
    )
    return handoff


async def take(
    session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID, operator: str
) -> DeskHandoff:
    """The operator takes over: from now on the bot stays silent in this conversation."""
    handoff = await get_or_raise(session, tenant_id, handoff_id)
    if handoff.status == HandoffStatus.ACTIVE and handoff.operator == operator:
        return handoff
    now = utcnow()
    claimed = await HandoffRepo(session, tenant_id).update_where(
        {"status": HandoffStatus.ACTIVE, "operator": operator, "taken_at": now, "updated_at": now},
        DeskHandoff.id == handoff_id,
        DeskHandoff.status == HandoffStatus.QUEUED,
    )
    await session.refresh(handoff)
    if not claimed:
        raise HandoffStateConflict(handoff.status, "take")
    conversation = await conversations.get_or_raise(session, tenant_id, handoff.conversation_id)
    notice = text("taken", await language_of(session, tenant_id), operator=operator)
    await conversations.append_message(session, tenant_id, conversation, "notice", notice)
    await _publish_status(session, tenant_id, handoff, conversation, notice)
    await heartbeat(session, tenant_id, operator)
    return handoff


async def reply(
    session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID, operator: str, body: str
) -> ConversationMessage:
    """The operator's message, stored in the conversation and pushed to the visitor."""
    handoff = await get_or_raise(session, tenant_id, handoff_id)
    if handoff.status != HandoffStatus.ACTIVE:
        raise HandoffStateConflict(handoff.status, "reply to")
    if handoff.operator != operator:
        raise HandoffStateConflict(f"handled by {handoff.operator}", "reply to")
    conversation = await conversations.get_or_raise(session, tenant_id, handoff.conversation_id)
    message = await conversations.append_message(session, tenant_id, conversation, "operator", body)
    await realtime.publish(
        session,
        realtime.conversation_channel(tenant_id, conversation.external_id),
        {
            "type": "operator_message",
            "id": str(message.id),
            "operator": operator,
            "text": body,
            "created_at": message.created_at.isoformat(),
        },
    )
    await heartbeat(session, tenant_id, operator)
    return message


async def release(session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID) -> DeskHandoff:
    """Give the conversation back to the bot."""
    return await _end(
        session, tenant_id, handoff_id, HandoffStatus.RELEASED, (HandoffStatus.ACTIVE,), "release"
    )


async def close(session: AsyncSession, tenant_id: uuid.UUID, handoff_id: uuid.UUID) -> DeskHandoff:
    return await _end(session, tenant_id, handoff_id, HandoffStatus.CLOSED, OPEN_STATUSES, "close")


async def _end(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    handoff_id: uuid.UUID,
    status: HandoffStatus,
    allowed: tuple[HandoffStatus, ...],
    action: str,
    notice: str | None = None,
) -> DeskHandoff:
    handoff = await get_or_raise(session, tenant_id, handoff_id)
    now = utcnow()
    changed = await HandoffRepo(session, tenant_id).update_where(
        {"status": status, "ended_at": now, "updated_at": now},
        DeskHandoff.id == handoff_id,
        DeskHandoff.status.in_([s.value for s in allowed]),
    )
    await session.refresh(handoff)
    if not changed:
        raise HandoffStateConflict(handoff.status, action)
    conversation = await conversations.get_or_raise(session, tenant_id, handoff.conversation_id)
    if notice is None:
        notice = text(status.value, await language_of(session, tenant_id))
    await conversations.append_message(session, tenant_id, conversation, "notice", notice)
    await _publish_status(session, tenant_id, handoff, conversation, notice)
    return handoff


async def visitor_message(
    session: AsyncSession, tenant_id: uuid.UUID, conversation_external_id: str, body: str
) -> ConversationMessage | None:
    """A visitor's message while a handoff is open: stored and pushed to the operators (None: no handoff)."""
    conversation = await conversations.get_by_external_id(session, tenant_id, conversation_external_id)
    if conversation is None:
        return None
    handoff = await HandoffRepo(session, tenant_id).open_for(conversation.id)
    if handoff is None:
        return None
    message = await conversations.append_message(session, tenant_id, conversation, "user", body)
    await realtime.publish(
        session,
        realtime.tenant_channel(tenant_id),
        {
            "type": "visitor_message",
            "handoff_id": str(handoff.id),
            "conversation_id": conversation.external_id,
            "id": str(message.id),
            "text": body,
            "created_at": message.created_at.isoformat(),
        },
    )
    return message


async def expire_due(session: AsyncSession, tenant_id: uuid.UUID, now: datetime | None = None) -> int:
    """Time out the tenant's queued requests nobody took in time, telling each visitor."""
    now = now or utcnow()
    desk = await config.get(session, tenant_id)
    cutoff = now - timedelta(seconds=desk.queue_timeout_seconds)
    due = await HandoffRepo(session, tenant_id).list(
        DeskHandoff.status == HandoffStatus.QUEUED, DeskHandoff.requested_at <= cutoff
    )
    notice = desk.timeout_message or text("timed_out", await language_of(session, tenant_id))
    expired = 0
    for handoff in due:
        try:
            await _end(
                session,
                tenant_id,
                handoff.id,
                HandoffStatus.TIMED_OUT,
                (HandoffStatus.QUEUED,),
                "time out",
                notice,
            )
        except HandoffStateConflict:
            continue  # taken (or closed) meanwhile
        expired += 1
    return expired


async def expire_all_due(session: AsyncSession, now: datetime) -> int:
    """`expire_due` for every tenant with old queued requests (the scheduler's sweep)."""
    old = await scan_across_tenants(
        session,
        DeskHandoff,
        DeskHandoff.status == HandoffStatus.QUEUED,
        DeskHandoff.requested_at <= now - timedelta(seconds=SWEEP_MIN_AGE_SECONDS),
    )
    return sum([await expire_due(session, tenant, now) for tenant in {h.tenant_id for h in old}])


# -- around the bot's answer -----------------------------------------------------------------------


async def before_answer(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    conversation_external_id: str,
    message: str,
    *,
    visitor_id: str | None,
    channel: str = "widget",
) -> Routing:
    """Route a visitor's message: to the operator handling the conversation, into a new handoff when
    it asks for a human, or to the bot."""
    latest = await latest_for_conversation(session, tenant_id, conversation_external_id)
    if latest is not None and latest.status == HandoffStatus.ACTIVE:
        await visitor_message(session, tenant_id, conversation_external_id, message)
        return Routing("human")
    if wants_human(message):
        outcome = await request(
            session,
            tenant_id,
            conversation_external_id,
            visitor_id=visitor_id,
            reason="intent",
            message=message,
            channel=channel,
        )
        return Routing("handoff", outcome)
    if latest is not None and latest.status == HandoffStatus.QUEUED:
        await visitor_message(session, tenant_id, conversation_external_id, message)
    return Routing("bot")


async def after_answer(
    session: AsyncSession, tenant_id: uuid.UUID, conversation_external_id: str
) -> str | None:
    """The offer of a human to show after the answer just stored, when the last N answers were all
    "I don't know" (N: the desk's dont_know_threshold) and no handoff is open; else None."""
    conversation = await conversations.get_by_external_id(session, tenant_id, conversation_external_id)
    if conversation is None or await HandoffRepo(session, tenant_id).open_for(conversation.id) is not None:
        return None
    desk = await config.get(session, tenant_id)
    outcomes = await conversations.recent_outcomes(session, tenant_id, conversation, desk.dont_know_threshold)
    if len(outcomes) < desk.dont_know_threshold or any(o != "dont_know" for o in outcomes):
        return None
    return text("offer", await language_of(session, tenant_id))


# -- numbers ---------------------------------------------------------------------------------------


async def metrics(
    session: AsyncSession, tenant_id: uuid.UUID, *, since: datetime | None, until: datetime | None
) -> HandoffMetrics:
    where = []
    if since is not None:
        where.append(DeskHandoff.requested_at >= since)
    if until is not None:
        where.append(DeskHandoff.requested_at < until)
    rows = await HandoffRepo(session, tenant_id).values(
        DeskHandoff.status, DeskHandoff.requested_at, DeskHandoff.taken_at, DeskHandoff.ended_at, where=where
    )
    by_status: dict[str, int] = {}
    waits: list[float] = []
    handling: list[float] = []
    for row in rows:
        status, requested, taken, ended = row.status, row.requested_at, row.taken_at, row.ended_at
        by_status[status] = by_status.get(status, 0) + 1
        if taken is not None:
            waits.append((taken - requested).total_seconds())
            if ended is not None:
                handling.append((ended - taken).total_seconds())
    return HandoffMetrics(
        requests=len(rows),
        by_status=by_status,
        taken=len(waits),
        average_wait_seconds=sum(waits) / len(waits) if waits else None,
        median_wait_seconds=median(waits) if waits else None,
        average_handling_seconds=sum(handling) / len(handling) if handling else None,
    )


# -- helpers ---------------------------------------------------------------------------------------


def open_notice(handoff: DeskHandoff, language: str) -> str:
    """What the visitor reads about an open request: queued, or which operator has it."""
    if handoff.status == HandoffStatus.ACTIVE and handoff.operator:
        return text("taken", language, operator=handoff.operator)
    return text("queued", language)


async def language_of(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    return (await tenants.get_tenant_or_raise(session, tenant_id)).default_language


async def _publish_status(
    session: AsyncSession, tenant_id: uuid.UUID, handoff: DeskHandoff, conversation: Conversation, notice: str
) -> None:
    status_event = {
        "type": "handoff",
        "handoff_id": str(handoff.id),
        "status": handoff.status,
        "operator": handoff.operator,
        "message": notice,
    }
    await realtime.publish(
        session, realtime.conversation_channel(tenant_id, conversation.external_id), status_event
    )
    await realtime.publish(
        session,
        realtime.tenant_channel(tenant_id),
        {
            **status_event,
            "type": "queue",
            "conversation_id": conversation.external_id,
            "priority": handoff.priority,
        },
    )


def _notify_new_request(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    desk: DeskSettings,
    handoff: DeskHandoff,
    conversation: Conversation,
    language: str,
    console_url: str,
) -> None:
    subject = text("handoff_subject", language)
    body = text("handoff_body", language, conversation=conversation.external_id)
    if console_url:
        body += text("console_link", language, url=console_url)
    for address in desk.notify_emails:
        enqueue_after_commit(
            session,
            MAIL_TASK,
            key=f"desk-handoff-{handoff.id}-{address}",
            tenant_id=str(tenant_id),
            to=address,
            subject=subject,
            body=body,
        )
    if desk.webhook_url:
        enqueue_after_commit(
            session,
            WEBHOOK_TASK,
            key=f"desk-handoff-{handoff.id}",
            tenant_id=str(tenant_id),
            event=HANDOFF_REQUESTED,
            object_id=str(handoff.id),
        )
