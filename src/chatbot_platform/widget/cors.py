"""CORS for the public widget API: an origin is echoed only once `auth.widget_call` allowed it (so the
widget can read its errors too: an expired session, a rate limit), or on a 503 (maintenance), which
says nothing about the tenant. A refused origin gets no CORS headers at all."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_platform.widget import origins

PUBLIC_PATH = re.compile(r"^/api/v1/widget/(?!keys(/|$)|config$)[^/]+/")
ALLOW_HEADERS = "Authorization, Content-Type"
ALLOW_METHODS = "GET, POST"
PREFLIGHT_MAX_AGE = "600"


def cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-expose-headers", b"Retry-After, X-Request-Id"),
    ]


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        "Vary": "Origin",
    }


class WidgetCorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not PUBLIC_PATH.match(scope["path"]) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"vary", b"Origin"))
                allowed = scope["state"].get("widget_cors_origin")
                if allowed is None and message["status"] == 503:
                    raw = dict(scope["headers"]).get(b"origin", b"").decode("latin-1")
                    allowed = origins.of_url(raw)
                if allowed is not None:
                    headers.extend(cors_headers(allowed))
            await send(message)

        await self.app(scope, receive, send_with_cors)
