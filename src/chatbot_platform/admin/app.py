"""The admin sub-application: one guard on every route, its own error pages, security headers."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_platform.admin.auth import guard
from chatbot_platform.admin.errors import LoginRequired
from chatbot_platform.admin.i18n import MESSAGES, translate
from chatbot_platform.admin.pages import (
    account,
    analytics,
    assistants,
    desk,
    documents,
    forms,
    home,
    keys,
    knowledge,
    members,
    queues,
    rag,
    scraper,
    settings,
    transcripts,
    widget,
)
from chatbot_platform.admin.rendering import render
from chatbot_platform.kit.errors import AppError
from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.admin")
STATIC = Path(__file__).parent / "static"
# Same-origin only: no third-party script, style or frame; the widget preview is an iframe of ours.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, csp: bool, hsts_max_age: int | None) -> None:
        self.app, self.csp, self.hsts_max_age = app, csp, hsts_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                if self.csp:
                    headers.append((b"content-security-policy", CSP.encode()))
                if self.hsts_max_age is not None:
                    headers.append((b"strict-transport-security", f"max-age={self.hsts_max_age}".encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.endswith(".json") or "application/json" in request.headers.get("accept", "")


def _error_page(request: Request, status: int, message: str) -> Response:
    locale = getattr(request.state, "locale", "it")
    text = translate(locale, message) if message in MESSAGES else message
    if _wants_json(request):
        return JSONResponse({"error": {"status": status, "message": text}}, status_code=status)
    return render(request, "error.html", status, status=status, message=text)


async def _app_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired) and not _wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
    if not isinstance(exc, AppError):
        return _error_page(request, 500, "error.generic")
    return _error_page(request, exc.status_code, exc.message)


async def _validation_error(request: Request, _exc: Exception) -> Response:
    return _error_page(request, 404 if request.method == "GET" else 422, "error.404")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    return _error_page(request, status, "error.404" if status == 404 else "error.generic")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error in the admin UI", exc_info=exc)
    return _error_page(request, 500, "error.generic")


def create_admin_app(parent: FastAPI) -> FastAPI:
    """The admin UI, sharing the parent's state (settings, database, services)."""
    admin = FastAPI(
        title="Admin UI",
        dependencies=[Depends(guard)],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    admin.state = parent.state
    for module in (
        account,
        home,
        members,
        keys,
        knowledge,
        documents,
        rag,
        assistants,
        scraper,
        widget,
        settings,
        queues,
        analytics,
        desk,
        forms,
        transcripts,
    ):
        admin.include_router(module.router)
    admin.mount("/static", StaticFiles(directory=STATIC), name="static")
    admin.add_exception_handler(AppError, _app_error)
    admin.add_exception_handler(RequestValidationError, _validation_error)
    admin.add_exception_handler(StarletteHTTPException, _http_error)
    admin.add_exception_handler(Exception, _unexpected)
    config: Settings = parent.state.settings
    security = config.security
    hsts = security.hsts_max_age if config.session.secure_cookie and security.secure_headers_enabled else None
    if security.secure_headers_enabled:
        admin.add_middleware(SecurityHeaders, csp=security.csp_enabled, hsts_max_age=hsts)
    return admin
