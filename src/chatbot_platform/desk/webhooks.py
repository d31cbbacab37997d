"""Outgoing webhooks (CRM, handoff alerts): JSON POSTed to a tenant's URL, signed with HMAC-SHA256.

    X-Desk-Event: form.submitted | handoff.requested
    X-Desk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

Receivers recompute the HMAC over the timestamp and the raw body and compare in constant time
(`verify_signature`), and refuse old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from chatbot_platform.kit.fetch import FetchError, PinnedTransport, checked_address

TIMEOUT_SECONDS = 10.0
USER_AGENT = "ChatbotPlatform-Webhooks/1"


class WebhookFailed(Exception):
    """The receiver could not be reached or did not answer 2xx; the job retries."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


async def post(
    url: str, secret: str | None, event: str, payload: dict[str, Any], *, allow_private: bool
) -> int:
    """POST the event; the receiver's status code. Raises WebhookFailed for anything but 2xx."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Desk-Event": event}
    if secret:
        headers["X-Desk-Signature"] = sign(secret, int(time.time()), body)
    try:
        address = await checked_address(url, allow_private=allow_private)
        async with httpx.AsyncClient(transport=PinnedTransport(address), timeout=TIMEOUT_SECONDS) as client:
            response = await client.post(url, content=body, headers=headers)
    except FetchError as exc:
        raise WebhookFailed(str(exc)) from None
    except httpx.HTTPError as exc:
        raise WebhookFailed(type(exc).__name__) from None
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"HTTP {response.status_code}")
    return response.status_code
