"""THROTTLE_API_REQUESTS per THROTTLE_API_DECAY_MINUTES on `/api`, per API key (or client address).

Windows are shared through Redis when it is configured (`Services.throttle`). The widget's public
endpoints have their own limit (WIDGET_RATE_LIMIT) and are left alone here, and so is the platform
operator's ADMIN_TOKEN. Like Laravel's test runs, APP_ENV=testing turns the throttle off, so that test
suites may poll the API freely.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_platform.kit.http import error_body
from chatbot_platform.kit.security import constant_time_equals
from chatbot_platform.ops.security_headers import is_widget_path
from chatbot_platform.settings import Settings

API_PREFIX = "/api/"


def caller_key(scope: Scope) -> str:
    """Who is calling: a digest of the credential when there is one, else the client address."""
    credential = Headers(scope=scope).get("authorization")
    if credential:
        return "key:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class ApiThrottleMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limit = settings.security.throttle_api_requests
        self.window = settings.security.throttle_api_decay_minutes * 60.0
        self.enabled = settings.app.env != "testing"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        services = getattr(scope["app"].state, "services", None) if scope["type"] == "http" else None
        if services is None or not self.enabled or not self._applies(scope, path):
            await self.app(scope, receive, send)
            return
        window = await services.throttle.hit(f"api:{caller_key(scope)}", limit=self.limit, window=self.window)
        rate_headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(window.retry_after),
        }
        if not window.allowed:
            message = f"Too many requests: the limit is {self.limit} per {int(self.window)} seconds."
            response = JSONResponse(
                error_body("rate_limited", message),
                status_code=429,
                headers={**rate_headers, "Retry-After": str(window.retry_after)},
            )
            await response(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in rate_headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_limits)

    @staticmethod
    def _applies(scope: Scope, path: str) -> bool:
        if not path.startswith(API_PREFIX) or is_widget_path(path) or scope["method"] == "OPTIONS":
            return False
        presented = Headers(scope=scope).get("x-admin-token")
        expected = getattr(scope["app"].state, "admin_token", None)
        return not (presented and expected and constant_time_equals(presented, expected))
