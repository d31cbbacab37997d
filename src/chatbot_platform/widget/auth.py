"""Who may call the public widget API: an allowed origin (checked on every call), then a publishable
key (session start) or a visitor's session token (everything else); limits per IP and per visitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chatbot_platform.kit.context import tenant_id_var
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.settings import Settings
from chatbot_platform.tenants.auth import client_ip
from chatbot_platform.widget import origins, service, tokens
from chatbot_platform.widget.cache import PublicWidget
from chatbot_platform.widget.errors import (
    InvalidSessionToken,
    OriginNotAllowed,
    WidgetDisabled,
    WidgetRateLimited,
)

_bearer = HTTPBearer(auto_error=False, description="A widget visitor's session token.")
CORS_STATE = "widget_cors_origin"
RATE_WINDOW_SECONDS = 60


def signing_key(request: Request, settings: SettingsDep) -> bytes:
    secret = settings.app.key.get_secret_value() if settings.app.key else str(request.app.state.admin_token)
    return tokens.signing_key(secret)


def request_origin(request: Request) -> str | None:
    """The calling page's origin: the Origin header, else the Referer's (same-origin GETs send none)."""
    return origins.of_url(request.headers.get("origin")) or origins.of_url(request.headers.get("referer"))


def platform_origins(request: Request, settings: Settings) -> set[str]:
    """The platform's own origins (the preview page lives there)."""
    own = {origins.of_url(settings.app.url), origins.of_url(str(request.base_url))}
    return {o for o in own if o}


@dataclass(frozen=True)
class WidgetCall:
    widget: PublicWidget
    origin: str


async def widget_call(
    tenant_slug: str, request: Request, session: SessionDep, settings: SettingsDep
) -> WidgetCall:
    """The tenant's widget, called from an allowed origin (else 403, without CORS headers)."""
    if not settings.features.widget_enabled:
        raise WidgetDisabled()
    widget = await service.load_public(session, tenant_slug, ttl=settings.features.widget_cache_ttl)
    tenant_id_var.set(str(widget.tenant_id))
    origin = request_origin(request)
    if origin is None or not (
        origins.allows(widget.allowed_origins, origin) or origin in platform_origins(request, settings)
    ):
        raise OriginNotAllowed()
    request.state.widget_cors_origin = origin
    if not widget.enabled:
        raise WidgetDisabled()
    return WidgetCall(widget, origin)


Call = Annotated[WidgetCall, Depends(widget_call)]


async def limit(services: ServicesDep, key: str) -> None:
    window = await services.throttle.hit(
        f"widget:{key}", limit=services.settings.features.widget_rate_limit, window=RATE_WINDOW_SECONDS
    )
    if not window.allowed:
        raise WidgetRateLimited(window)


async def limited_call(call: Call, request: Request, services: ServicesDep) -> WidgetCall:
    """An allowed call within the per-IP limit (WIDGET_RATE_LIMIT a minute)."""
    await limit(services, f"ip:{client_ip(request) or 'unknown'}")
    return call


LimitedCall = Annotated[WidgetCall, Depends(limited_call)]


@dataclass(frozen=True)
class Visitor:
    widget: PublicWidget
    session: tokens.VisitorSession


async def widget_visitor(
    call: LimitedCall,
    session: SessionDep,
    services: ServicesDep,
    key: Annotated[bytes, Depends(signing_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Visitor:
    """The visitor whose token this is: issued by this tenant's live key, to this origin; within the
    per-visitor limit."""
    if bearer is None:
        raise InvalidSessionToken("Missing widget session token: start a session first.")
    visitor = tokens.verify(key, bearer.credentials)
    if visitor.tenant_id != call.widget.tenant_id or visitor.origin != call.origin:
        raise InvalidSessionToken()
    if not await service.key_is_live(session, visitor.tenant_id, visitor.key_id):
        raise InvalidSessionToken("The widget key of this session was revoked.")
    await limit(services, f"visitor:{visitor.tenant_id}:{visitor.visitor_id}")
    return Visitor(call.widget, visitor)


WidgetVisitor = Annotated[Visitor, Depends(widget_visitor)]
SigningKey = Annotated[bytes, Depends(signing_key)]
