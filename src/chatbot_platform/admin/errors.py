"""Errors of the admin UI, rendered as pages by the sub-application's handler."""

from __future__ import annotations

from chatbot_platform.kit.errors import AppError, Forbidden, NotFound


class LoginRequired(AppError):
    """No valid session: pages redirect to the login form, JSON endpoints answer 401."""

    status_code = 401
    code = "login_required"

    def __init__(self) -> None:
        super().__init__("Sign in first.")


class CsrfRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__("error.csrf")


class NotAllowed(Forbidden):
    def __init__(self) -> None:
        super().__init__("error.403")


class NoSuchTenant(NotFound):
    def __init__(self) -> None:
        super().__init__("error.404")
