"""Request ids, access logs and the one error handler."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_platform.kit.context import request_id_var, tenant_id_var
from chatbot_platform.kit.errors import AppError

log = logging.getLogger("chatbot_platform.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class RequestContextMiddleware:
    """Gives every request an id (honouring a sane X-Request-Id) and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_token = request_id_var.set(request_id)
        tenant_token = tenant_id_var.set(None)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the last line of defence: log it, answer a generic 500
            log.error("unhandled error", exc_info=exc)
            if not response_started:
                response = _json(500, "internal_error", "Internal server error.")
                await response(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(request_token)
            tenant_id_var.reset(tenant_token)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id_var.get()}
    if details is not None:
        body["details"] = details
    return {"error": body}


@dataclass(frozen=True)
class ErrorInfo:
    """An error about to be rendered: what any envelope needs to say it."""

    status: int
    code: str
    message: str
    details: Any = None


# An envelope renders an error as (status, body); the status may differ (OpenAI says 400 where the
# platform says 422).
Envelope = Callable[[ErrorInfo], tuple[int, dict[str, Any]]]


def use_envelope(app: FastAPI, prefixes: tuple[str, ...], envelope: Envelope) -> None:
    """Render errors of requests under these path prefixes with `envelope` instead of the platform's."""
    current: list[tuple[tuple[str, ...], Envelope]] = getattr(app.state, "error_envelopes", [])
    app.state.error_envelopes = [*current, (prefixes, envelope)]


def _json(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _render(request: Request, info: ErrorInfo, headers: dict[str, str] | None = None) -> JSONResponse:
    path = request.url.path
    for prefixes, envelope in getattr(request.app.state, "error_envelopes", []):
        if path.startswith(prefixes):
            status, body = envelope(info)
            return JSONResponse(body, status_code=status, headers=headers)
    return _json(info.status, info.code, info.message, info.details, headers)


async def _app_error(request: Request, exc: AppError) -> JSONResponse:
    return _render(request, ErrorInfo(exc.status_code, exc.code, exc.message, exc.details), exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        field = ".".join(location[1:]) if len(location) > 1 else location[0]
        details.append({"field": field, "location": location[0], "message": error["msg"]})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return _render(request, ErrorInfo(422, "validation_error", f"Invalid request: {summary}", details))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    return _render(request, ErrorInfo(exc.status_code, code, message), dict(exc.headers or {}))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable", exc_info=exc)
    info = ErrorInfo(503, "service_unavailable", "The database is unavailable; retry shortly.")
    return _render(request, info, {"Retry-After": "5"})


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    log.error("no database connection free in time", exc_info=exc)
    info = ErrorInfo(503, "service_unavailable", "The platform is busy; retry shortly.")
    return _render(request, info, {"Retry-After": "2"})


# PostgreSQL refuses some text outright (a NUL byte, \u0000 in JSON, characters outside the encoding):
# that is the client's input, not a fault of the server.
_UNSTORABLE_TEXT = {"22P05", "22021"}


async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _UNSTORABLE_TEXT:
        message = "The request contains characters that cannot be stored (such as a NUL byte)."
        return _render(request, ErrorInfo(400, "bad_request", message))
    if exc.connection_invalidated:  # the connection died under the request (a restart, a failover)
        return await _database_unavailable(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return _render(request, ErrorInfo(500, "internal_error", "Internal server error."))


def install_error_handlers(app: FastAPI) -> None:
    handlers: dict[type[Exception], Any] = {
        AppError: _app_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        OperationalError: _database_unavailable,
        PoolTimeout: _pool_exhausted,
        DBAPIError: _database_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
