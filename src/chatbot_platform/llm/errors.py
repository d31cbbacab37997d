"""Errors of the language-model client."""

from __future__ import annotations

from chatbot_platform.kit.errors import AppError


class LLMError(AppError):
    """The language model gave no usable answer; the message names the host and the upstream status
    and message, never the API key."""

    status_code = 502
    code = "llm_unavailable"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        timed_out: bool = False,
        budget_retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.timed_out = timed_out
        self.budget_retry_after = budget_retry_after  # set when our own OPENAI_MAX_* budget is spent
