from __future__ import annotations

from chatbot_platform.kit.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from chatbot_platform.kit.throttle import Window


class WidgetKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Widget key not found.")


class InvalidWidgetKey(Unauthorized):
    code = "invalid_widget_key"

    def __init__(self) -> None:
        super().__init__("Missing, invalid or revoked publishable widget key.", headers={})


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"

    def __init__(self) -> None:
        super().__init__("This website is not allowed to use this widget (add it to the allowed origins).")


class InvalidSessionToken(Unauthorized):
    code = "invalid_session"

    def __init__(self, reason: str = "Missing or invalid widget session token.") -> None:
        super().__init__(reason, headers={})


class SessionExpired(InvalidSessionToken):
    code = "session_expired"

    def __init__(self) -> None:
        super().__init__("The widget session expired; start a new one.")


class WidgetDisabled(ServiceUnavailable):
    code = "widget_disabled"

    def __init__(self) -> None:
        super().__init__("The widget is disabled.")


class WidgetNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Unknown widget.")


class MessageNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Message not found in this conversation.")


class InvalidOrigin(Unprocessable):
    def __init__(self, value: str) -> None:
        super().__init__(
            f"allowed_origins: {value!r} is not an origin; use https://example.com, "
            "https://*.example.com or http://localhost:8080 (scheme, host, optional port, no path).",
            details=[{"field": "allowed_origins", "location": "body", "message": "not an origin"}],
        )


class WidgetRateLimited(TooManyRequests):
    code = "rate_limited"

    def __init__(self, window: Window) -> None:
        super().__init__(
            f"Too many widget requests: {window.limit} a minute (WIDGET_RATE_LIMIT); "
            f"retry in {window.retry_after} s.",
            headers={"Retry-After": str(window.retry_after)},
        )
