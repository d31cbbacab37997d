"""The public widget API the script talks to, under `/api/v1/widget/{tenant_slug}/…`.

Every call comes from an allowed origin (403 without CORS headers otherwise); the session start
presents the publishable key, every other call the visitor's session token.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from chatbot_platform.chat import service as chat
from chatbot_platform.chat.schemas import Question, Turn
from chatbot_platform.desk import handoff
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.sse import STREAM_HEADERS, EventStream, first_event
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.widget import origins, service
from chatbot_platform.widget.auth import (
    Call,
    LimitedCall,
    SigningKey,
    WidgetVisitor,
    platform_origins,
    request_origin,
)
from chatbot_platform.widget.cors import preflight_headers
from chatbot_platform.widget.errors import WidgetNotFound
from chatbot_platform.widget.schemas import (
    ChatMessage,
    EventBatch,
    Feedback,
    FeedbackCreate,
    History,
    PublicConfig,
    SessionStart,
    SessionStarted,
    Theme,
)
from chatbot_platform.widget.streaming import answer_stream, routed_event, single_event

router = APIRouter(prefix="/api/v1/widget", tags=["widget (public)"])
HISTORY_TURNS = 10


@router.get("/{tenant_slug}/config", response_model=PublicConfig)
async def public_config(
    call: Call,
    settings: SettingsDep,
    response: Response,
    key: Annotated[str, Query(max_length=200, description="The publishable key (pk_…).")],
) -> PublicConfig:
    """The widget's theme and texts; cached by browsers for WIDGET_CACHE_TTL seconds."""
    widget = call.widget
    service.check_cached_key(widget, key)
    response.headers["Cache-Control"] = f"private, max-age={settings.features.widget_cache_ttl}"
    return PublicConfig(
        tenant=widget.slug,
        name=widget.name,
        default_locale=widget.default_language,
        conversation_lifetime_hours=widget.conversation_lifetime_hours,
        theme=Theme.model_validate(widget.theme),
    )


@router.post("/{tenant_slug}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionStarted)
async def start_session(
    data: SessionStart, call: LimitedCall, session: SessionDep, signing_key: SigningKey
) -> SessionStarted:
    """A visitor session: a signed token valid for 30 minutes, bound to this origin."""
    key = await service.authenticate_key(session, call.widget.tenant_id, data.key)
    return await service.start_session(
        session,
        call.widget,
        key=key,
        origin=call.origin,
        signing_key=signing_key,
        visitor_id=data.visitor_id,
        conversation_id=data.conversation_id,
    )


@router.get("/{tenant_slug}/conversation", response_model=History)
async def conversation_history(visitor: WidgetVisitor, session: SessionDep) -> History:
    """The visitor's conversation so far (to show it again after a page load)."""
    return await service.history(session, visitor.session)


@router.post(
    "/{tenant_slug}/conversations", status_code=status.HTTP_201_CREATED, response_model=SessionStarted
)
async def new_conversation(visitor: WidgetVisitor, signing_key: SigningKey) -> SessionStarted:
    """Start over: a token for a new conversation of the same visitor."""
    return service.restart_conversation(visitor.session, signing_key)


@router.post(
    "/{tenant_slug}/chat",
    responses={200: {"content": {"text/event-stream": {}}, "description": "The answer as SSE events."}},
)
async def chat_message(
    body: ChatMessage, visitor: WidgetVisitor, session: SessionDep, services: ServicesDep
) -> Response:
    """Ask: the answer streams as `delta` events, then `done` with the citations and the message id.
    While an operator handles the conversation the message goes to them (`routed`); asking for a
    human opens a handoff (`handoff`)."""
    started = time.perf_counter()
    v = visitor.session
    routing = await handoff.before_answer(
        session, v.tenant_id, v.conversation_id, body.message, visitor_id=v.visitor_id
    )
    if routing.kind != "bot":
        await session.commit()
        return EventStream(single_event(routed_event(routing)), headers=STREAM_HEADERS)
    history = await service.recent_turns(session, visitor.session, limit=HISTORY_TURNS)
    question = Question(
        tenant_id=visitor.session.tenant_id,
        turns=[*history, Turn("user", body.message)],
        assistant=visitor.widget.assistant,
        end_user=visitor.session.visitor_id,
    )
    plan = await chat.plan(session, question, history_enabled=False, started=started)
    # Nothing below needs the request's transaction; holding it while the model answers would
    # let slow answers starve the pool.
    await session.commit()
    prepared = await chat.prepare(services, plan)
    events = chat.stream(services, prepared)
    first = await first_event(events)
    return EventStream(
        answer_stream(services, visitor.session, prepared, first, events), headers=STREAM_HEADERS
    )


@router.post("/{tenant_slug}/feedback", status_code=status.HTTP_201_CREATED, response_model=Feedback)
async def give_feedback(data: FeedbackCreate, visitor: WidgetVisitor, session: SessionDep) -> Feedback:
    """Thumbs up (1) or down (-1) on an answer of the visitor's conversation; a new vote replaces it."""
    return Feedback.model_validate(await service.record_feedback(session, visitor.session, data))


@router.post("/{tenant_slug}/events", status_code=status.HTTP_202_ACCEPTED)
async def record_events(batch: EventBatch, visitor: WidgetVisitor, session: SessionDep) -> dict[str, int]:
    """Widget events (open, close, quick reply, citation click, new conversation, error)."""
    return {"accepted": await service.record_events(session, visitor.session, batch)}


@router.options("/{tenant_slug}/{rest:path}", include_in_schema=False)
async def preflight(
    tenant_slug: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """CORS preflight: allowed origins get the methods and headers; others a bare 403."""
    origin = request_origin(request)
    if settings.features.widget_enabled and origin is not None:
        try:
            widget = await service.load_public(session, tenant_slug, ttl=settings.features.widget_cache_ttl)
        except WidgetNotFound:
            widget = None
        if widget is not None and (
            origins.allows(widget.allowed_origins, origin) or origin in platform_origins(request, settings)
        ):
            return Response(status_code=status.HTTP_204_NO_CONTENT, headers=preflight_headers(origin))
    return Response(status_code=status.HTTP_403_FORBIDDEN)
