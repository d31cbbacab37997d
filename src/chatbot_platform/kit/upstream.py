"""Helpers for clients of OpenAI-compatible HTTP APIs: the server's requested wait, a short error
description, and keeping the API key out of messages."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

from chatbot_platform.kit.clock import utcnow


def auth_headers(secret: str | None, organization: str | None, project: str | None) -> dict[str, str]:
    """The bearer key and OpenAI's organization/project headers, those that are set."""
    headers: dict[str, str] = {}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    return headers


def as_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def retry_after(response: httpx.Response, max_delay: float) -> float | None:
    """The wait the server asked for (`retry-after-ms` or `Retry-After`), capped at `max_delay`."""
    if (millis := as_float(response.headers.get("retry-after-ms"))) is not None:
        return min(max(millis / 1000, 0.0), max_delay)
    value = response.headers.get("retry-after")
    if value is None:
        return None
    seconds = as_float(value)
    if seconds is None:
        try:
            seconds = (parsedate_to_datetime(value) - utcnow()).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), max_delay)


def redact(text: str, secret: str | None) -> str:
    """`text` without the API key, in case a server echoes it back."""
    return text.replace(secret, "***") if secret else text


def describe(response: httpx.Response, secret: str | None) -> str:
    """`HTTP <status>` plus the server's own error message, shortened and without the key."""
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError, httpx.ResponseNotRead):
        try:
            message = response.text
        except httpx.ResponseNotRead:
            message = ""
    message = redact(" ".join(message.split())[:200], secret)
    return f"HTTP {response.status_code}" + (f": {message}" if message else "")
