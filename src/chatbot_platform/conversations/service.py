"""Stored conversations of one tenant. Services never commit."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.conversations.errors import ConversationNotFound
from chatbot_platform.conversations.repository import ConversationRepo, MessageRepo
from chatbot_platform.conversations.schemas import Exchange
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.errors import Conflict
from chatbot_platform.models import Conversation, ConversationMessage

_TICK = timedelta(microseconds=1)


class _Raced(Conflict):
    def __init__(self) -> None:
        super().__init__("The conversation was created concurrently.")


async def get_by_external_id(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str
) -> Conversation | None:
    return await ConversationRepo(session, tenant_id).get_by_external_id(external_id)


async def get_by_external_id_or_raise(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str
) -> Conversation:
    conversation = await get_by_external_id(session, tenant_id, external_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def list_(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Conversation], int]:
    repo = ConversationRepo(session, tenant_id)
    items = await repo.list(order_by=[Conversation.updated_at.desc()], limit=limit, offset=offset)
    return items, await repo.count()


async def messages(
    session: AsyncSession, tenant_id: uuid.UUID, conversation: Conversation, *, limit: int
) -> list[ConversationMessage]:
    """The conversation's last `limit` messages, oldest first."""
    return await MessageRepo(session, tenant_id).latest(conversation, limit)


async def record_exchange(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    external_id: str,
    exchange: Exchange,
    *,
    end_user: str | None = None,
    api_key_id: uuid.UUID | None = None,
    channel: str = "api",
) -> Conversation:
    """Append the question and its answer to the conversation, creating it on first use."""
    conversation = await _get_or_create(session, tenant_id, external_id, end_user, api_key_id, channel)
    now = utcnow()
    question = ConversationMessage(
        conversation_id=conversation.id, role="user", content=exchange.question, citations=[], created_at=now
    )
    answer = ConversationMessage(
        conversation_id=conversation.id,
        role="assistant",
        content=exchange.answer,
        citations=exchange.citations,
        retrieval=exchange.retrieval,
        outcome=exchange.outcome,
        model=exchange.model,
        prompt_tokens=exchange.prompt_tokens,
        completion_tokens=exchange.completion_tokens,
        latency_ms=exchange.latency_ms,
        first_token_ms=exchange.first_token_ms,
        # One microsecond later, so that ordering by time keeps the question first.
        created_at=now + _TICK,
    )
    await MessageRepo(session, tenant_id).add_all([question, answer])
    conversation.message_count += 2
    conversation.last_message_at = answer.created_at
    if end_user is not None:
        conversation.end_user = end_user
    return await ConversationRepo(session, tenant_id).save(conversation)


async def _get_or_create(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    external_id: str,
    end_user: str | None,
    api_key_id: uuid.UUID | None,
    channel: str,
) -> Conversation:
    repo = ConversationRepo(session, tenant_id)
    found = await repo.get_by_external_id(external_id)
    if found is not None:
        return found
    conversation = Conversation(
        external_id=external_id, end_user=end_user, api_key_id=api_key_id, channel=channel, message_count=0
    )
    try:
        return await repo.add(conversation, conflict=_Raced())
    except _Raced:
        # Two first messages of one conversation at once: the other request created it.
        raced = await repo.get_by_external_id(external_id)
        if raced is None:
            raise
        return raced


async def get_or_create(
    session: AsyncSession, tenant_id: uuid.UUID, external_id: str, *, end_user: str | None, channel: str
) -> Conversation:
    """The conversation named `external_id`, created (empty) when it does not exist yet."""
    return await _get_or_create(session, tenant_id, external_id, end_user, None, channel)


async def append_message(
    session: AsyncSession, tenant_id: uuid.UUID, conversation: Conversation, role: str, content: str
) -> ConversationMessage:
    """One message outside a question/answer pair: an operator's reply (role `operator`), a visitor's
    message to an operator (`user`), or a notice shown to the visitor (`notice`; never `system`, which
    the chat service would read as instructions)."""
    message = ConversationMessage(
        conversation_id=conversation.id, role=role, content=content, citations=[], created_at=utcnow()
    )
    await MessageRepo(session, tenant_id).add(message)
    conversation.message_count += 1
    conversation.last_message_at = message.created_at
    await ConversationRepo(session, tenant_id).save(conversation)
    return message


async def get_or_raise(
    session: AsyncSession, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """By the stored id (not the client's)."""
    conversation = await ConversationRepo(session, tenant_id).get(conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


async def external_ids(
    session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The client ids of these stored conversations."""
    if not ids:
        return {}
    rows = await ConversationRepo(session, tenant_id).values(
        Conversation.id, Conversation.external_id, where=[Conversation.id.in_(ids)]
    )
    return {row.id: row.external_id for row in rows}


async def recent_outcomes(
    session: AsyncSession, tenant_id: uuid.UUID, conversation: Conversation, limit: int
) -> list[str | None]:
    """The outcomes of the conversation's last `limit` answers, newest first."""
    rows = await MessageRepo(session, tenant_id).list(
        ConversationMessage.conversation_id == conversation.id,
        ConversationMessage.role == "assistant",
        order_by=[ConversationMessage.created_at.desc()],
        limit=limit,
    )
    return [row.outcome for row in rows]
