from __future__ import annotations

from typing import Any

from chatbot_platform.kit.errors import Conflict, NotFound, TooManyRequests, Unprocessable


class HandoffNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Handoff request not found.")


class HandoffStateConflict(Conflict):
    code = "handoff_state"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"Cannot {action} a handoff that is {status}.", details={"status": status})


class FormNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Form not found.")


class SubmissionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Submission not found.")


class CannedReplyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Canned reply not found.")


class DuplicateFormName(Conflict):
    def __init__(self) -> None:
        super().__init__("A form with this name already exists.")


class InvalidSubmission(Unprocessable):
    """The submitted values break the form's rules; `details` maps each field to its message."""

    def __init__(self, errors: dict[str, str], message: str = "The form has errors.") -> None:
        super().__init__(message, details={"fields": errors})


class SubmittedTooFast(Unprocessable):
    code = "submitted_too_fast"

    def __init__(self, details: Any = None) -> None:
        super().__init__("The form was sent too quickly; please try again in a moment.", details=details)


class FormRateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many submissions; try again later.", headers={"Retry-After": str(retry_after)})


class HandoffRateLimited(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many requests for an operator; try again later.", headers={"Retry-After": str(retry_after)}
        )
