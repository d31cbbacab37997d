"""`Idempotency-Key` on creating POSTs: the same key and request get the same answer, once."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.errors import Conflict, Unprocessable
from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import IdempotencyKey

MAX_KEY_LENGTH = 255


class IdempotencyRepo(TenantRepository[IdempotencyKey]):
    model = IdempotencyKey


class IdempotencyKeyReused(Unprocessable):
    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request.")


class IdempotencyKeyInFlight(Conflict):
    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is being processed; retry shortly.")


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def replay(
    session: AsyncSession, tenant_id: uuid.UUID, key: str | None, fingerprint: str
) -> Replay | None:
    """The stored answer for `key`, or None when the key is new (or absent)."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    stored = await IdempotencyRepo(session, tenant_id).first(IdempotencyKey.key == key)
    if stored is None:
        return None
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return Replay(stored.status_code, stored.response)


async def remember(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    key: str | None,
    fingerprint: str,
    status_code: int,
    body: dict[str, Any],
) -> None:
    """Store the answer in the same transaction as the work it describes."""
    if key is None:
        return
    record = IdempotencyKey(key=key, request_hash=fingerprint, status_code=status_code, response=body)
    await IdempotencyRepo(session, tenant_id).add(record, conflict=IdempotencyKeyInFlight())
