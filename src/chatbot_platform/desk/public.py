"""The visitor's side of the desk, under the widget's public API (`/api/v1/widget/{tenant_slug}/…`):
the same origin check and visitor session token as the widget's chat."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from chatbot_platform.desk import forms, handoff, streams
from chatbot_platform.desk.errors import FormRateLimited, HandoffRateLimited
from chatbot_platform.desk.schemas import (
    HandoffCreate,
    HandoffState,
    PublicForm,
    SubmissionAccepted,
    SubmissionCreate,
    TriggerCheck,
    TriggerResult,
    VisitorMessage,
)
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.sse import STREAM_HEADERS, EventStream
from chatbot_platform.models import DeskHandoff, HandoffStatus
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.tenants.auth import client_ip
from chatbot_platform.widget.auth import SigningKey, WidgetVisitor

router = APIRouter(prefix="/api/v1/widget", tags=["widget (public)"])
SUBMISSIONS_PER_HOUR = {"visitor": 5, "ip": 30}
SUBMISSION_WINDOW_SECONDS = 3600
HANDOFFS_PER_HOUR = 20


@router.post("/{tenant_slug}/handoff", status_code=status.HTTP_201_CREATED, response_model=HandoffState)
async def request_handoff(
    data: HandoffCreate,
    visitor: WidgetVisitor,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    signing_key: SigningKey,
) -> HandoffState:
    """Ask for a human: queued for an operator, or `unavailable` with the form to leave details."""
    v = visitor.session
    window = await services.throttle.hit(
        f"desk-handoffs:{v.tenant_id}:{v.visitor_id}", limit=HANDOFFS_PER_HOUR, window=3600
    )
    if not window.allowed:
        raise HandoffRateLimited(window.retry_after)
    outcome = await handoff.request(
        session,
        v.tenant_id,
        v.conversation_id,
        visitor_id=v.visitor_id,
        reason="dont_know" if data.accepted_offer else "visitor_request",
        message=data.message,
        console_url=f"{settings.app.url.rstrip('/')}/admin/",
    )
    return await _state_of(session, v.tenant_id, outcome.handoff, signing_key, outcome.notice)


async def _state_of(
    session: SessionDep, tenant_id: uuid.UUID, row: DeskHandoff | None, signing_key: bytes, notice: str | None
) -> HandoffState:
    if row is None:
        return HandoffState(status=None)
    form = None
    if row.status in (HandoffStatus.UNAVAILABLE, HandoffStatus.TIMED_OUT):
        found = await forms.triggered(session, tenant_id, TriggerCheck(handoff_unavailable=True))
        form = forms.public(found, signing_key) if found is not None else None
    return HandoffState(
        status=row.status, operator=row.operator, handoff_id=row.id, form=form, message=notice
    )


@router.get("/{tenant_slug}/handoff", response_model=HandoffState)
async def handoff_state(visitor: WidgetVisitor, session: SessionDep, signing_key: SigningKey) -> HandoffState:
    """The conversation's latest handoff (status null when there was none)."""
    v = visitor.session
    latest = await handoff.latest_for_conversation(session, v.tenant_id, v.conversation_id)
    return await _state_of(session, v.tenant_id, latest, signing_key, None)


@router.post("/{tenant_slug}/handoff/messages", status_code=status.HTTP_202_ACCEPTED)
async def visitor_handoff_message(
    data: VisitorMessage, visitor: WidgetVisitor, session: SessionDep
) -> dict[str, bool]:
    """A message for the operator while a handoff is open (`delivered: false` when none is)."""
    v = visitor.session
    message = await handoff.visitor_message(session, v.tenant_id, v.conversation_id, data.text)
    return {"delivered": message is not None}


@router.get(
    "/{tenant_slug}/handoff/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "Handoff events."}},
)
async def handoff_stream(visitor: WidgetVisitor, session: SessionDep, services: ServicesDep) -> Response:
    """Live events of the conversation: `handoff` (status changes, with a message to show) and
    `operator_message`; the first event is the current state."""
    await session.commit()
    v = visitor.session
    events = streams.visitor_events(services, v.tenant_id, v.conversation_id)
    return EventStream(events, headers=STREAM_HEADERS)


@router.post("/{tenant_slug}/forms/trigger", response_model=TriggerResult)
async def check_form_trigger(
    data: TriggerCheck, visitor: WidgetVisitor, session: SessionDep, signing_key: SigningKey
) -> TriggerResult:
    """The form to show now, if a form's triggers match what just happened (keyword, message count,
    "I don't know", no operator available)."""
    found = await forms.triggered(session, visitor.session.tenant_id, data)
    return TriggerResult(form=forms.public(found, signing_key) if found is not None else None)


@router.get("/{tenant_slug}/forms/{form_id}", response_model=PublicForm)
async def public_form(
    form_id: uuid.UUID, visitor: WidgetVisitor, session: SessionDep, signing_key: SigningKey
) -> PublicForm:
    """A form to render, with the token its submission must carry."""
    row = await forms.get_public_or_raise(session, visitor.session.tenant_id, form_id)
    return forms.public(row, signing_key)


@router.post(
    "/{tenant_slug}/forms/{form_id}/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionAccepted,
)
async def submit_form(
    form_id: uuid.UUID,
    data: SubmissionCreate,
    visitor: WidgetVisitor,
    session: SessionDep,
    services: ServicesDep,
    signing_key: SigningKey,
    request: Request,
) -> SubmissionAccepted:
    """Send a form: 422 with a message per field when values are wrong; at most 5 an hour per visitor
    and 30 per address."""
    v = visitor.session
    keys = {"visitor": f"{v.tenant_id}:{v.visitor_id}", "ip": client_ip(request) or "unknown"}
    for kind, key in keys.items():
        window = await services.throttle.hit(
            f"desk-forms:{kind}:{key}", limit=SUBMISSIONS_PER_HOUR[kind], window=SUBMISSION_WINDOW_SECONDS
        )
        if not window.allowed:
            raise FormRateLimited(window.retry_after)
    submitter = forms.Submitter(v.visitor_id, v.conversation_id, visitor.widget.default_language)
    row = await forms.submit(session, v.tenant_id, form_id, data, submitter, signing_key=signing_key)
    return SubmissionAccepted(id=None if row.status == "spam" else row.id)
