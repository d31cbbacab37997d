"""Visitor session tokens: short-lived, HMAC-signed, bound to a tenant, a key, a visitor, a
conversation and the origin they were issued to. Nothing is stored server-side."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from chatbot_platform.widget.errors import InvalidSessionToken, SessionExpired

TOKEN_TTL_SECONDS = 30 * 60
_VERSION = 1


@dataclass(frozen=True)
class VisitorSession:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    visitor_id: str
    conversation_id: str
    origin: str
    expires_at: int  # Unix seconds


def signing_key(secret: str) -> bytes:
    """A key for widget tokens only, derived from APP_KEY (or the admin token where APP_KEY is unset)."""
    return hmac.new(secret.encode(), b"chatbot-platform widget session v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: bytes, session: VisitorSession) -> str:
    payload = {
        "v": _VERSION,
        "t": str(session.tenant_id),
        "k": str(session.key_id),
        "u": session.visitor_id,
        "c": session.conversation_id,
        "o": session.origin,
        "exp": session.expires_at,
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def new_session(
    *,
    tenant_id: uuid.UUID,
    key_id: uuid.UUID,
    visitor_id: str,
    conversation_id: str,
    origin: str,
    now: float | None = None,
) -> VisitorSession:
    expires = int((time.time() if now is None else now) + TOKEN_TTL_SECONDS)
    return VisitorSession(tenant_id, key_id, visitor_id, conversation_id, origin, expires)


def verify(key: bytes, token: str, *, now: float | None = None) -> VisitorSession:
    """The session a token carries; raises when it is forged, malformed or expired."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise InvalidSessionToken()
    try:
        payload = json.loads(_unb64(body))
        session = VisitorSession(
            tenant_id=uuid.UUID(payload["t"]),
            key_id=uuid.UUID(payload["k"]),
            visitor_id=str(payload["u"]),
            conversation_id=str(payload["c"]),
            origin=str(payload["o"]),
            expires_at=int(payload["exp"]),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidSessionToken() from None
    if payload.get("v") != _VERSION:
        raise InvalidSessionToken()
    if session.expires_at <= (time.time() if now is None else now):
        raise SessionExpired()
    return session
