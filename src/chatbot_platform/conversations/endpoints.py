"""Stored conversations of the calling tenant (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from chatbot_platform.conversations import service
from chatbot_platform.conversations.schemas import Conversation, ConversationDetail, Message
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.models import Conversation as ConversationRow
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.CONVERSATIONS_READ))]


def _view(row: ConversationRow) -> Conversation:
    return Conversation(
        conversation_id=row.external_id,
        channel=row.channel,
        end_user=row.end_user,
        message_count=row.message_count,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
    )


@router.get("", response_model=Page[Conversation])
async def list_conversations(session: SessionDep, ctx: Reader, page: PageDep) -> Page[Conversation]:
    """Most recently active first."""
    items, total = await service.list_(session, ctx.tenant_id, limit=page.limit, offset=page.offset)
    return Page(items=[_view(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: str,
    session: SessionDep,
    ctx: Reader,
    limit: Annotated[int, Query(ge=1, le=500, description="The last messages to return.")] = 100,
) -> ConversationDetail:
    """One conversation with its last messages, oldest first."""
    row = await service.get_by_external_id_or_raise(session, ctx.tenant_id, conversation_id)
    messages = await service.messages(session, ctx.tenant_id, row, limit=limit)
    return ConversationDetail(
        **_view(row).model_dump(), messages=[Message.model_validate(m) for m in messages]
    )
