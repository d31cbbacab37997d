"""The operations middleware, installed by `create_app` in one call (innermost first)."""

from __future__ import annotations

from fastapi import FastAPI

from chatbot_platform.ops.api_throttle import ApiThrottleMiddleware
from chatbot_platform.ops.maintenance import MaintenanceMiddleware
from chatbot_platform.ops.metrics import MetricsMiddleware
from chatbot_platform.ops.security_headers import SecurityHeadersMiddleware
from chatbot_platform.settings import Settings


def install_operations(app: FastAPI, settings: Settings) -> None:
    """Request flow: metrics → security headers/CORS → maintenance → API throttle → routes.

    Call before adding the request-context middleware, so that it stays outermost and every
    response (a 503 or 429 included) carries the request id.
    """
    app.add_middleware(ApiThrottleMiddleware, settings=settings)
    app.add_middleware(MaintenanceMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(MetricsMiddleware, enabled=settings.features.metrics_enabled)
