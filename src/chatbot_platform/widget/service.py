"""Widget keys, configuration, visitor sessions, feedback and events of one tenant. Services never commit.

The admin UI calls `get_config`, `update_config`, `issue_key`, `list_keys`, `revoke_key` and
`list_feedback`; the public endpoints call the rest.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chatbot_platform.chat import targets
from chatbot_platform.chat.errors import AssistantModelNotFound
from chatbot_platform.chat.schemas import Turn
from chatbot_platform.conversations import service as conversations
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.errors import Unprocessable
from chatbot_platform.kit.security import constant_time_equals, sha256_hex
from chatbot_platform.models import Conversation, WidgetConfig, WidgetEvent, WidgetFeedback, WidgetKey
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.errors import TenantNotFound
from chatbot_platform.widget import origins, tokens
from chatbot_platform.widget.cache import CACHE, PublicWidget
from chatbot_platform.widget.errors import (
    InvalidOrigin,
    InvalidWidgetKey,
    MessageNotFound,
    WidgetKeyNotFound,
    WidgetNotFound,
)
from chatbot_platform.widget.repository import (
    WidgetConfigRepo,
    WidgetEventRepo,
    WidgetFeedbackRepo,
    WidgetKeyRepo,
)
from chatbot_platform.widget.schemas import (
    EventBatch,
    FeedbackCreate,
    History,
    HistoryMessage,
    PublicCitation,
    SessionStarted,
    Theme,
    WidgetConfigUpdate,
    WidgetKeyCreate,
)
from chatbot_platform.widget.schemas import WidgetConfig as WidgetConfigView

KEY_PREFIX = "pk_"
KEY_PREFIX_LENGTH = len(KEY_PREFIX) + 12
CHANNEL = "widget"
DEFAULT_LIFETIME_HOURS = 24
HISTORY_LIMIT = 50
LAST_USED_RESOLUTION_SECONDS = 60


# -- publishable keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedWidgetKey:
    widget_key: WidgetKey
    secret: str


async def issue_key(session: AsyncSession, tenant_id: uuid.UUID, data: WidgetKeyCreate) -> IssuedWidgetKey:
    """A new publishable key; the secret is returned once and only its hash is stored."""
    await tenants.get_tenant_or_raise(session, tenant_id)
    prefix = KEY_PREFIX + secrets.token_hex(6)
    secret = f"{prefix}_{secrets.token_urlsafe(24)}"
    key = WidgetKey(name=data.name, prefix=prefix, key_hash=sha256_hex(secret))
    await WidgetKeyRepo(session, tenant_id).add(key)
    CACHE.forget(tenant_id)
    return IssuedWidgetKey(widget_key=key, secret=secret)


async def list_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[WidgetKey]:
    return await WidgetKeyRepo(session, tenant_id).list(order_by=[WidgetKey.created_at])


async def revoke_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> WidgetKey:
    repo = WidgetKeyRepo(session, tenant_id)
    key = await repo.get(key_id)
    if key is None:
        raise WidgetKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await repo.save(key)
    CACHE.forget(tenant_id)
    return key


async def authenticate_key(session: AsyncSession, tenant_id: uuid.UUID, presented: str) -> WidgetKey:
    """The tenant's live key matching `presented` (hash compared in constant time), else InvalidWidgetKey."""
    prefix = _split_key(presented)
    if prefix is None:
        raise InvalidWidgetKey()
    key = await WidgetKeyRepo(session, tenant_id).first(WidgetKey.prefix == prefix)
    if key is None or key.revoked_at is not None:
        raise InvalidWidgetKey()
    if not constant_time_equals(key.key_hash, sha256_hex(presented)):
        raise InvalidWidgetKey()
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        key.last_used_at = now
        await session.flush()
    return key


def _split_key(presented: str) -> str | None:
    prefix, separator = presented[:KEY_PREFIX_LENGTH], presented[KEY_PREFIX_LENGTH:][:1]
    return prefix if prefix.startswith(KEY_PREFIX) and separator == "_" else None


def check_cached_key(widget: PublicWidget, presented: str) -> None:
    """Raise InvalidWidgetKey unless `presented` is one of the widget's live keys (as cached)."""
    prefix = _split_key(presented)
    expected = widget.key_hashes.get(prefix or "")
    if prefix is None or expected is None or not constant_time_equals(expected, sha256_hex(presented)):
        raise InvalidWidgetKey()


async def key_is_live(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    key = await WidgetKeyRepo(session, tenant_id).get(key_id)
    return key is not None and key.revoked_at is None


# -- configuration --------------------------------------------------------------------------------


def _default_origins(domain: str | None) -> list[str]:
    """With no configuration yet, the tenant's own domain and its subdomains (over HTTPS)."""
    if not domain:
        return []
    found = [origins.normalize(f"https://{domain}"), origins.normalize(f"https://*.{domain}")]
    return [o for o in found if o]


def _view(row: WidgetConfig | None, domain: str | None) -> WidgetConfigView:
    if row is None:
        return WidgetConfigView(
            enabled=True,
            allowed_origins=_default_origins(domain),
            assistant="default",
            conversation_lifetime_hours=DEFAULT_LIFETIME_HOURS,
            theme=Theme(),
            updated_at=None,
        )
    return WidgetConfigView(
        enabled=row.enabled,
        allowed_origins=list(row.allowed_origins),
        assistant=row.assistant,
        conversation_lifetime_hours=row.conversation_lifetime_hours,
        theme=Theme.model_validate(row.theme),
        updated_at=row.updated_at,
    )


async def get_config(session: AsyncSession, tenant_id: uuid.UUID) -> WidgetConfigView:
    """The tenant's widget configuration (defaults when it was never saved)."""
    tenant = await tenants.get_tenant_or_raise(session, tenant_id)
    return _view(await WidgetConfigRepo(session, tenant_id).current(), tenant.domain)


def normalize_origins(values: list[str]) -> list[str]:
    normalized: list[str] = []
    for value in values:
        origin = origins.normalize(value)
        if origin is None:
            raise InvalidOrigin(value)
        if origin not in normalized:
            normalized.append(origin)
    return normalized


async def update_config(
    session: AsyncSession, tenant_id: uuid.UUID, data: WidgetConfigUpdate
) -> WidgetConfigView:
    """Change the fields given; `theme` is replaced as a whole. Clears this process's cache."""
    tenant = await tenants.get_tenant_or_raise(session, tenant_id)
    repo = WidgetConfigRepo(session, tenant_id)
    row = await repo.current()
    if row is None:
        current = _view(None, tenant.domain)
        row = WidgetConfig(
            enabled=current.enabled,
            allowed_origins=current.allowed_origins,
            assistant=current.assistant,
            conversation_lifetime_hours=current.conversation_lifetime_hours,
            theme=current.theme.model_dump(mode="json"),
        )
        await repo.add(row)
    if data.allowed_origins is not None:
        row.allowed_origins = normalize_origins(data.allowed_origins)
    if data.assistant is not None:
        try:
            await targets.resolve(session, tenant_id, data.assistant)
        except AssistantModelNotFound:
            raise Unprocessable(
                f"assistant: {data.assistant!r} is neither an assistant profile, kb:<name> nor default.",
                details=[{"field": "assistant", "location": "body", "message": "unknown assistant"}],
            ) from None
        row.assistant = data.assistant
    if data.enabled is not None:
        row.enabled = data.enabled
    if data.conversation_lifetime_hours is not None:
        row.conversation_lifetime_hours = data.conversation_lifetime_hours
    if data.theme is not None:
        row.theme = data.theme.model_dump(mode="json")
    await repo.save(row)
    CACHE.forget(tenant_id)
    return _view(row, tenant.domain)


def _database_of(session: AsyncSession) -> str:
    bind = session.bind
    engine = bind if isinstance(bind, AsyncEngine) else bind.engine if bind is not None else None
    return str(engine.url) if engine is not None else ""


async def load_public(session: AsyncSession, slug: str, *, ttl: int) -> PublicWidget:
    """The tenant's widget as the public endpoints see it, from the cache when fresh."""
    database = _database_of(session)
    cached = CACHE.get(database, slug)
    if cached is not None:
        return cached
    try:
        tenant = await tenants.get_tenant_by_slug_or_id(session, slug)
    except TenantNotFound:
        raise WidgetNotFound() from None
    if tenant.slug != slug:
        raise WidgetNotFound()
    config = _view(await WidgetConfigRepo(session, tenant.id).current(), tenant.domain)
    live_keys = await WidgetKeyRepo(session, tenant.id).list(WidgetKey.revoked_at.is_(None))
    widget = PublicWidget(
        tenant_id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        default_language=tenant.default_language,
        enabled=config.enabled,
        allowed_origins=tuple(config.allowed_origins),
        assistant=config.assistant,
        conversation_lifetime_hours=config.conversation_lifetime_hours,
        theme=config.theme.model_dump(mode="json"),
        key_hashes={k.prefix: k.key_hash for k in live_keys},
    )
    CACHE.put(database, widget, ttl)
    return widget


# -- visitor sessions -----------------------------------------------------------------------------


def new_visitor_id() -> str:
    return "v_" + secrets.token_urlsafe(16)


def new_conversation_id() -> str:
    return "widget-" + secrets.token_urlsafe(16)


def _valid_visitor_id(value: str | None) -> bool:
    return bool(value) and value is not None and value.startswith("v_") and 10 <= len(value) <= 64


def _resumable(conversation: Conversation | None, visitor_id: str, lifetime_hours: int) -> bool:
    if conversation is None or conversation.channel != CHANNEL or conversation.end_user != visitor_id:
        return False
    last = conversation.last_message_at or conversation.created_at
    return lifetime_hours > 0 and utcnow() - last < timedelta(hours=lifetime_hours)


async def start_session(
    session: AsyncSession,
    widget: PublicWidget,
    *,
    key: WidgetKey,
    origin: str,
    signing_key: bytes,
    visitor_id: str | None = None,
    conversation_id: str | None = None,
) -> SessionStarted:
    """A signed token for one visitor; resumes the visitor's conversation while it is within its lifetime."""
    resumed = False
    if _valid_visitor_id(visitor_id) and visitor_id is not None and conversation_id:
        stored = await conversations.get_by_external_id(session, widget.tenant_id, conversation_id)
        resumed = _resumable(stored, visitor_id, widget.conversation_lifetime_hours)
    visitor = visitor_id if visitor_id is not None and _valid_visitor_id(visitor_id) else new_visitor_id()
    conversation = conversation_id if resumed and conversation_id else new_conversation_id()
    return _started(widget, key.id, visitor, conversation, origin, signing_key, resumed=resumed)


def restart_conversation(visitor: tokens.VisitorSession, signing_key: bytes) -> SessionStarted:
    """The same visitor, a new conversation: a fresh token."""
    session = tokens.new_session(
        tenant_id=visitor.tenant_id,
        key_id=visitor.key_id,
        visitor_id=visitor.visitor_id,
        conversation_id=new_conversation_id(),
        origin=visitor.origin,
    )
    return _signed(session, signing_key, resumed=False)


def _started(
    widget: PublicWidget,
    key_id: uuid.UUID,
    visitor_id: str,
    conversation_id: str,
    origin: str,
    signing_key: bytes,
    *,
    resumed: bool,
) -> SessionStarted:
    session = tokens.new_session(
        tenant_id=widget.tenant_id,
        key_id=key_id,
        visitor_id=visitor_id,
        conversation_id=conversation_id,
        origin=origin,
    )
    return _signed(session, signing_key, resumed=resumed)


def _signed(session: tokens.VisitorSession, signing_key: bytes, *, resumed: bool) -> SessionStarted:
    return SessionStarted(
        token=tokens.issue(signing_key, session),
        expires_at=session.expires_at,
        visitor_id=session.visitor_id,
        conversation_id=session.conversation_id,
        resumed=resumed,
    )


async def visitor_conversation(session: AsyncSession, visitor: tokens.VisitorSession) -> Conversation | None:
    """The visitor's stored conversation, if it has messages yet (and is theirs)."""
    stored = await conversations.get_by_external_id(session, visitor.tenant_id, visitor.conversation_id)
    if stored is None or stored.channel != CHANNEL or stored.end_user != visitor.visitor_id:
        return None
    return stored


async def history(session: AsyncSession, visitor: tokens.VisitorSession) -> History:
    """The visitor's conversation so far, oldest first, with the visitor's own feedback on answers."""
    stored = await visitor_conversation(session, visitor)
    if stored is None:
        return History(conversation_id=visitor.conversation_id, messages=[])
    rows = await conversations.messages(session, visitor.tenant_id, stored, limit=HISTORY_LIMIT)
    ratings = await WidgetFeedbackRepo(session, visitor.tenant_id).ratings(
        [m.id for m in rows], visitor.visitor_id
    )
    return History(
        conversation_id=visitor.conversation_id,
        messages=[
            HistoryMessage(
                id=m.id,
                role=m.role,
                content=m.content,
                citations=[PublicCitation.of(c) for c in m.citations],
                feedback=ratings.get(m.id),
                created_at=m.created_at,
            )
            for m in rows
        ],
    )


# -- feedback and events --------------------------------------------------------------------------


async def record_feedback(
    session: AsyncSession, visitor: tokens.VisitorSession, data: FeedbackCreate
) -> WidgetFeedback:
    """The visitor's rating of an answer of their conversation; a later rating replaces it."""
    stored = await visitor_conversation(session, visitor)
    if stored is None:
        raise MessageNotFound()
    recent = await conversations.messages(session, visitor.tenant_id, stored, limit=HISTORY_LIMIT * 4)
    if not any(m.id == data.message_id and m.role == "assistant" for m in recent):
        raise MessageNotFound()
    repo = WidgetFeedbackRepo(session, visitor.tenant_id)
    feedback = await repo.of_visitor(data.message_id, visitor.visitor_id)
    if feedback is None:
        feedback = WidgetFeedback(
            message_id=data.message_id,
            conversation_id=stored.id,
            visitor_id=visitor.visitor_id,
            rating=data.rating,
            comment=data.comment,
        )
        return await repo.add(feedback)
    feedback.rating, feedback.comment, feedback.created_at = data.rating, data.comment, utcnow()
    return await repo.save(feedback)


async def list_feedback(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[WidgetFeedback], int]:
    """Visitors' ratings of answers, newest first (for the admin UI)."""
    repo = WidgetFeedbackRepo(session, tenant_id)
    items = await repo.list(order_by=[WidgetFeedback.created_at.desc()], limit=limit, offset=offset)
    return items, await repo.count()


async def record_events(session: AsyncSession, visitor: tokens.VisitorSession, batch: EventBatch) -> int:
    events = [
        WidgetEvent(
            kind=event.type,
            visitor_id=visitor.visitor_id,
            conversation_external_id=visitor.conversation_id,
            data=event.data,
        )
        for event in batch.events
    ]
    await WidgetEventRepo(session, visitor.tenant_id).add_all(events)
    return len(events)


async def recent_turns(session: AsyncSession, visitor: tokens.VisitorSession, *, limit: int) -> list[Turn]:
    """The last messages of the visitor's conversation, as the chat service's turns."""
    stored = await visitor_conversation(session, visitor)
    if stored is None:
        return []
    rows = await conversations.messages(session, visitor.tenant_id, stored, limit=limit)
    return [Turn(m.role, m.content) for m in rows]
