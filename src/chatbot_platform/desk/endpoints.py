"""The service desk API for operators and integrations (tenant API key).

Scopes: reading the queue, transcripts and submissions needs `conversations:read`; acting on
them (take over, reply, release, close, canned replies, forms, settings) needs `assistants:write`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from chatbot_platform.audit import service as audit
from chatbot_platform.conversations.schemas import Message
from chatbot_platform.desk import canned, config, forms, handoff, streams
from chatbot_platform.desk.schemas import (
    Availability,
    CannedReply,
    CannedReplyCreate,
    CannedReplyUpdate,
    DeskSettingsUpdate,
    DeskSettingsView,
    Form,
    FormCreate,
    FormUpdate,
    Handoff,
    HandoffMetrics,
    HandoffUpdate,
    Heartbeat,
    OperatorAction,
    OperatorReply,
    Submission,
    SubmissionUpdate,
)
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.kit.sse import STREAM_HEADERS, EventStream
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/desk", tags=["service desk"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.CONVERSATIONS_READ))]
Operator = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_WRITE))]


class HandoffDetail(Handoff):
    messages: list[Message]


# -- settings and presence -------------------------------------------------------------------------


@router.get("/settings", response_model=DeskSettingsView)
async def get_desk_settings(session: SessionDep, ctx: Reader) -> DeskSettingsView:
    """Hours, handoff rules, notifications and transcript retention."""
    return config.view(await config.get(session, ctx.tenant_id))


@router.patch("/settings", response_model=DeskSettingsView)
async def update_desk_settings(
    data: DeskSettingsUpdate, session: SessionDep, ctx: Operator, request: Request
) -> DeskSettingsView:
    """Change the fields given; `retention_days: null` keeps transcripts forever."""
    row = await config.update(session, ctx.tenant_id, data)
    details = data.model_dump(exclude_unset=True, exclude={"webhook_secret"}, mode="json")
    await audit.record_tenant_action(session, ctx, request, "desk.settings_updated", row, details=details)
    return config.view(row)


@router.post("/operators/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
async def operator_heartbeat(data: Heartbeat, session: SessionDep, ctx: Operator) -> Response:
    """The operator's console is open; send every 30 s (present for 90 s after each)."""
    await handoff.heartbeat(session, ctx.tenant_id, data.operator)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/operators/away", status_code=status.HTTP_204_NO_CONTENT)
async def operator_away(data: Heartbeat, session: SessionDep, ctx: Operator) -> Response:
    """The operator leaves: no longer counted as present."""
    await handoff.away(session, ctx.tenant_id, data.operator)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/availability", response_model=Availability)
async def desk_availability(session: SessionDep, ctx: Reader) -> Availability:
    """Whether a handoff requested now would reach an operator (hours and presence)."""
    return await handoff.availability_now(session, ctx.tenant_id)


# -- the queue -------------------------------------------------------------------------------------


@router.get("/handoffs", response_model=Page[Handoff])
async def list_handoffs(
    session: SessionDep,
    ctx: Reader,
    page: PageDep,
    status_: Annotated[
        list[str] | None, Query(alias="status", description="Repeat for several; default queued and active.")
    ] = None,
) -> Page[Handoff]:
    """The queue: highest priority first, then longest waiting. Requests past the queue timeout are
    timed out first (and their visitors told), so the queue is right even where no scheduler runs."""
    await handoff.expire_due(session, ctx.tenant_id)
    statuses = status_ if status_ else ["queued", "active"]
    rows, total = await handoff.list_(
        session, ctx.tenant_id, statuses=statuses, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[handoff.view(r, ext) for r, ext in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/handoffs/{handoff_id}", response_model=HandoffDetail)
async def get_handoff(
    handoff_id: uuid.UUID,
    session: SessionDep,
    ctx: Reader,
    limit: Annotated[int, Query(ge=1, le=500, description="The last messages to return.")] = 200,
) -> HandoffDetail:
    """One handoff with the conversation: the bot's answers with citations, the visitor, the operator."""
    row = await handoff.get_or_raise(session, ctx.tenant_id, handoff_id)
    conversation, messages = await handoff.transcript(session, ctx.tenant_id, row, limit=limit)
    return HandoffDetail(
        **handoff.view(row, conversation.external_id).model_dump(),
        messages=[Message.model_validate(m) for m in messages],
    )


@router.patch("/handoffs/{handoff_id}", response_model=Handoff)
async def update_handoff(
    handoff_id: uuid.UUID, data: HandoffUpdate, session: SessionDep, ctx: Operator
) -> Handoff:
    """Change the priority of a queued or active handoff (409 once it ended)."""
    await handoff.set_priority(session, ctx.tenant_id, handoff_id, data.priority)
    return await _viewed(session, ctx, handoff_id)


async def _viewed(session: SessionDep, ctx: ApiKeyContext, row_id: uuid.UUID) -> Handoff:
    row = await handoff.get_or_raise(session, ctx.tenant_id, row_id)
    conversation, _ = await handoff.transcript(session, ctx.tenant_id, row, limit=1)
    return handoff.view(row, conversation.external_id)


@router.post("/handoffs/{handoff_id}/take", response_model=Handoff)
async def take_handoff(
    handoff_id: uuid.UUID, data: OperatorAction, session: SessionDep, ctx: Operator, request: Request
) -> Handoff:
    """Take over: the bot stops answering this conversation (409 if someone else took it)."""
    row = await handoff.take(session, ctx.tenant_id, handoff_id, data.operator)
    await audit.record_tenant_action(
        session, ctx, request, "desk.handoff_taken", row, details={"operator": data.operator}
    )
    return await _viewed(session, ctx, handoff_id)


@router.post("/handoffs/{handoff_id}/reply", status_code=status.HTTP_201_CREATED, response_model=Message)
async def reply_to_handoff(
    handoff_id: uuid.UUID, data: OperatorReply, session: SessionDep, ctx: Operator
) -> Message:
    """Send a message to the visitor (live on the widget's stream)."""
    return Message.model_validate(
        await handoff.reply(session, ctx.tenant_id, handoff_id, data.operator, data.text)
    )


@router.post("/handoffs/{handoff_id}/release", response_model=Handoff)
async def release_handoff(
    handoff_id: uuid.UUID, session: SessionDep, ctx: Operator, request: Request
) -> Handoff:
    """Give the conversation back to the bot."""
    row = await handoff.release(session, ctx.tenant_id, handoff_id)
    await audit.record_tenant_action(session, ctx, request, "desk.handoff_released", row)
    return await _viewed(session, ctx, handoff_id)


@router.post("/handoffs/{handoff_id}/close", response_model=Handoff)
async def close_handoff(
    handoff_id: uuid.UUID, session: SessionDep, ctx: Operator, request: Request
) -> Handoff:
    """End the handoff (queued or active)."""
    row = await handoff.close(session, ctx.tenant_id, handoff_id)
    await audit.record_tenant_action(session, ctx, request, "desk.handoff_closed", row)
    return await _viewed(session, ctx, handoff_id)


@router.get(
    "/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "Queue and visitor events."}},
)
async def desk_stream(session: SessionDep, ctx: Reader, services: ServicesDep) -> Response:
    """Live events for the operator console: `queue` (a handoff changed) and `visitor_message`."""
    await session.commit()
    return EventStream(streams.desk_events(services, ctx.tenant_id), headers=STREAM_HEADERS)


@router.get("/metrics", response_model=HandoffMetrics)
async def handoff_metrics(
    session: SessionDep,
    ctx: Reader,
    since: Annotated[datetime | None, Query(description="Requested from this time.")] = None,
    until: Annotated[datetime | None, Query(description="Requested before this time.")] = None,
) -> HandoffMetrics:
    """Requests by status, wait time (request to take-over) and handling time (take-over to end)."""
    return await handoff.metrics(session, ctx.tenant_id, since=since, until=until)


# -- canned replies --------------------------------------------------------------------------------


@router.get("/canned-replies", response_model=list[CannedReply])
async def list_canned_replies(session: SessionDep, ctx: Reader) -> list[CannedReply]:
    """Prepared answers, by title."""
    return [CannedReply.model_validate(r) for r in await canned.list_(session, ctx.tenant_id)]


@router.post("/canned-replies", status_code=status.HTTP_201_CREATED, response_model=CannedReply)
async def create_canned_reply(data: CannedReplyCreate, session: SessionDep, ctx: Operator) -> CannedReply:
    return CannedReply.model_validate(await canned.create(session, ctx.tenant_id, data))


@router.patch("/canned-replies/{reply_id}", response_model=CannedReply)
async def update_canned_reply(
    reply_id: uuid.UUID, data: CannedReplyUpdate, session: SessionDep, ctx: Operator
) -> CannedReply:
    return CannedReply.model_validate(await canned.update(session, ctx.tenant_id, reply_id, data))


@router.delete("/canned-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_canned_reply(reply_id: uuid.UUID, session: SessionDep, ctx: Operator) -> Response:
    await canned.delete(session, ctx.tenant_id, reply_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- forms and submissions -------------------------------------------------------------------------


@router.get("/forms", response_model=list[Form])
async def list_forms(session: SessionDep, ctx: Reader) -> list[Form]:
    return [forms.view(r) for r in await forms.list_(session, ctx.tenant_id)]


@router.post("/forms", status_code=status.HTTP_201_CREATED, response_model=Form)
async def create_form(data: FormCreate, session: SessionDep, ctx: Operator, request: Request) -> Form:
    """A form: fields with validation rules, triggers, e-mails and the CRM webhook."""
    row = await forms.create(session, ctx.tenant_id, data)
    await audit.record_tenant_action(
        session, ctx, request, "desk.form_created", row, details={"name": row.name}
    )
    return forms.view(row)


@router.get("/forms/{form_id}", response_model=Form)
async def get_form(form_id: uuid.UUID, session: SessionDep, ctx: Reader) -> Form:
    return forms.view(await forms.get_or_raise(session, ctx.tenant_id, form_id))


@router.patch("/forms/{form_id}", response_model=Form)
async def update_form(form_id: uuid.UUID, data: FormUpdate, session: SessionDep, ctx: Operator) -> Form:
    return forms.view(await forms.update(session, ctx.tenant_id, form_id, data))


@router.delete("/forms/{form_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_form(form_id: uuid.UUID, session: SessionDep, ctx: Operator, request: Request) -> Response:
    """Delete the form and its submissions."""
    row = await forms.delete(session, ctx.tenant_id, form_id)
    await audit.record_tenant_action(
        session, ctx, request, "desk.form_deleted", row, details={"name": row.name}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


StatusFilter = Annotated[
    str | None, Query(pattern=r"^(new|in_progress|done|spam)$", description="Default: all but spam.")
]


@router.get("/submissions", response_model=Page[Submission])
async def list_submissions(
    session: SessionDep,
    ctx: Reader,
    page: PageDep,
    form_id: uuid.UUID | None = None,
    status_: Annotated[StatusFilter, Query(alias="status")] = None,
) -> Page[Submission]:
    """Newest first."""
    rows, total = await forms.list_submissions(
        session, ctx.tenant_id, form_id=form_id, status=status_, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[Submission.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/submissions/export", responses={200: {"content": {"text/csv": {}}}})
async def export_submissions(
    session: SessionDep,
    ctx: Reader,
    form_id: uuid.UUID | None = None,
    status_: Annotated[StatusFilter, Query(alias="status")] = None,
) -> Response:
    """CSV: one row per submission, one column per form field."""
    body = await forms.export_csv(session, ctx.tenant_id, form_id=form_id, status=status_)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="submissions.csv"'},
    )


@router.patch("/submissions/{submission_id}", response_model=Submission)
async def update_submission(
    submission_id: uuid.UUID, data: SubmissionUpdate, session: SessionDep, ctx: Operator
) -> Submission:
    """Follow-up status: new, in_progress, done (or spam)."""
    return Submission.model_validate(
        await forms.set_status(session, ctx.tenant_id, submission_id, data.status)
    )
