"""OpenAI's error envelope, `{"error": {"message", "type", "param", "code"}}`, for every error under
the OpenAI-compatible paths (the platform's own envelope is used everywhere else)."""

from __future__ import annotations

from typing import Any

from chatbot_platform.kit.errors import AppError, BadRequest, NotFound
from chatbot_platform.kit.http import ErrorInfo

PREFIXES = ("/v1/", "/api/v1/chat/")

_TYPES = {401: "authentication_error", 403: "permission_error", 429: "requests"}


def openai_envelope(info: ErrorInfo) -> tuple[int, dict[str, Any]]:
    """The error as OpenAI writes it; validation errors are 400s, as OpenAI answers them."""
    status = 400 if info.status == 422 else info.status
    kind = "server_error" if status >= 500 else _TYPES.get(status, "invalid_request_error")
    return status, {
        "error": {"message": info.message, "type": kind, "param": _param(info.details), "code": info.code}
    }


def _param(details: Any) -> str | None:
    if isinstance(details, list) and details and isinstance(details[0], dict):
        field = details[0].get("field")
        return str(field) if field else None
    return None


class UnsupportedParameters(BadRequest):
    code = "unsupported_parameter"

    def __init__(self, names: list[str]) -> None:
        listed = ", ".join(f"'{n}'" for n in names)
        plural = len(names) > 1
        super().__init__(
            f"Unsupported parameter{'s' if plural else ''}: {listed}. This server answers from the tenant's "
            f"knowledge bases and does not support {'them' if plural else 'it'} (see docs/api.md).",
            details=[{"field": n, "message": "unsupported"} for n in names],
        )


class InvalidParameter(BadRequest):
    code = "invalid_value"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message, details=[{"field": name, "message": message}])


class EmbeddingModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, name: str, available: str) -> None:
        super().__init__(
            f"The embedding model {name!r} is not this tenant's; use {available!r} (or 'default').",
            details=[{"field": "model", "message": "unknown model"}],
        )


class EmbeddingsFailed(AppError):
    status_code = 502
    code = "upstream_error"

    def __init__(self) -> None:
        super().__init__("The embedding model failed to answer; retry shortly.")
