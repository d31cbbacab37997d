"""Stored conversations of the calling tenant: search, read, export; retention and erasure."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from chatbot_platform.audit import service as audit
from chatbot_platform.conversations import privacy, service, transcripts
from chatbot_platform.conversations.errors import RetentionNotSet
from chatbot_platform.conversations.repository import TranscriptFilters
from chatbot_platform.conversations.schemas import Conversation, ConversationDetail, Erasure, Message
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.models import Conversation as ConversationRow
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.CONVERSATIONS_READ))]
# Erasing transcripts changes the tenant's data: the scope that manages assistants and the desk.
Manager = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_WRITE))]


def _view(row: ConversationRow) -> Conversation:
    return Conversation(
        conversation_id=row.external_id,
        channel=row.channel,
        end_user=row.end_user,
        message_count=row.message_count,
        created_at=row.created_at,
        last_message_at=row.last_message_at,
    )


def transcript_filters(
    q: Annotated[
        str | None, Query(max_length=200, description="Text in any message (case-insensitive).")
    ] = None,
    since: Annotated[datetime | None, Query(description="Active at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Started before this time.")] = None,
    outcome: Annotated[
        Literal["answered", "extractive", "dont_know"] | None,
        Query(description="Has an answer with this outcome."),
    ] = None,
    feedback: Annotated[
        Literal["positive", "negative", "any", "none"] | None, Query(description="Visitors' ratings.")
    ] = None,
    handoff: Annotated[
        bool | None, Query(description="Was (true) or was never (false) handed to a human.")
    ] = None,
    channel: Annotated[str | None, Query(max_length=20, description="api or widget.")] = None,
    end_user: Annotated[str | None, Query(max_length=200, description="The end user / visitor id.")] = None,
) -> TranscriptFilters:
    return TranscriptFilters(q, since, until, outcome, feedback, handoff, channel, end_user)


Filters = Annotated[TranscriptFilters, Depends(transcript_filters)]


@router.get("", response_model=Page[Conversation])
async def list_conversations(
    session: SessionDep, ctx: Reader, page: PageDep, filters: Filters
) -> Page[Conversation]:
    """Search: most recently active first, filtered by text, dates, outcome, feedback and handoff."""
    items, total = await transcripts.search(
        session, ctx.tenant_id, filters, limit=page.limit, offset=page.offset
    )
    return Page(items=[_view(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The transcripts."}},
)
async def export_conversations(
    session: SessionDep,
    ctx: Reader,
    filters: Filters,
    format_: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv",
) -> Response:
    """The matching transcripts (at most 5000 conversations): CSV one row per message, or JSON."""
    if format_ == "json":
        body = transcripts.dumps(await transcripts.export_json(session, ctx.tenant_id, filters))
        return Response(
            body,
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="conversations.json"'},
        )
    return Response(
        await transcripts.export_csv(session, ctx.tenant_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


@router.post("/purge", response_model=Erasure)
async def purge_expired_conversations(session: SessionDep, ctx: Manager, request: Request) -> Erasure:
    """Apply the retention period now (the scheduler does it hourly); 422 when none is set."""
    erased = await privacy.purge_tenant_now(session, ctx.tenant_id)
    if erased is None:
        raise RetentionNotSet()
    await audit.record_tenant_action(
        session, ctx, request, "conversations.retention_purged", None, details=erased.as_dict()
    )
    return Erasure(**erased.as_dict())


@router.delete("/visitors/{visitor_id}", response_model=Erasure)
async def erase_visitor_data(visitor_id: str, session: SessionDep, ctx: Manager, request: Request) -> Erasure:
    """Erase one visitor's (or API end user's) conversations, feedback, events and form submissions."""
    erased = await privacy.erase_visitor(session, ctx.tenant_id, visitor_id)
    # The audit keeps a fingerprint of the id, not the id: the entry must not undo the erasure.
    fingerprint = hashlib.sha256(f"{ctx.tenant_id}:{visitor_id}".encode()).hexdigest()[:16]
    await audit.record_tenant_action(
        session,
        ctx,
        request,
        "conversations.visitor_erased",
        None,
        details={"visitor_fingerprint": fingerprint, **erased.as_dict()},
    )
    return Erasure(**erased.as_dict())


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
