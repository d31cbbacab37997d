from __future__ import annotations

import math

from chatbot_platform.kit.errors import AppError, BadRequest, NotFound, TooManyRequests
from chatbot_platform.kit.throttle import Window
from chatbot_platform.llm import LLMError


class AssistantModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The model {name!r} does not exist: name an assistant profile, a knowledge base "
            "(kb:<name or id>) or `default` (GET /v1/models lists them).",
            details=[{"field": "model", "message": "unknown model"}],
        )


class InvalidQuestion(BadRequest):
    def __init__(self, message: str, field: str = "messages") -> None:
        super().__init__(message, details=[{"field": field, "message": message}])


class ChatRateLimited(TooManyRequests):
    code = "rate_limit_exceeded"

    def __init__(self, window: Window) -> None:
        super().__init__(
            f"Too many chat requests: {window.limit} per window (THROTTLE_CHAT_REQUESTS); "
            f"retry in {window.retry_after} s.",
            headers={"Retry-After": str(window.retry_after), **rate_limit_headers(window)},
        )


def rate_limit_headers(window: Window) -> dict[str, str]:
    """OpenAI's names for the state of the request window."""
    return {
        "x-ratelimit-limit-requests": str(window.limit),
        "x-ratelimit-remaining-requests": str(window.remaining),
        "x-ratelimit-reset-requests": f"{window.reset_after:.3f}s",
    }


class ModelBusy(AppError):
    """The upstream model kept answering 429 through every retry: our capacity there is spent."""

    status_code = 503
    code = "upstream_rate_limited"

    def __init__(self) -> None:
        super().__init__(
            "The language model is rate-limiting this platform; retry shortly.", headers={"Retry-After": "10"}
        )


class ModelTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"

    def __init__(self) -> None:
        super().__init__("The language model did not answer in time (OPENAI_TIMEOUT).")


class ModelFailed(AppError):
    status_code = 502
    code = "upstream_error"

    def __init__(self, status: int | None) -> None:
        detail = f" (HTTP {status})" if status else ""
        super().__init__(f"The language model failed to answer{detail}; retry shortly.")


class BudgetSpent(AppError):
    """The platform's own OPENAI_MAX_*_PER_MINUTE budget would not grant this answer soon enough."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            "The platform's language-model budget is spent for now; retry shortly.",
            headers={"Retry-After": str(seconds)},
        )


def upstream_error(error: LLMError) -> AppError:
    """What a client may know of a failed model call: the kind of failure, never the upstream's text."""
    if error.budget_retry_after is not None:
        return BudgetSpent(error.budget_retry_after)
    if error.upstream_status == 429:
        return ModelBusy()
    if error.timed_out:
        return ModelTimeout()
    return ModelFailed(error.upstream_status)
