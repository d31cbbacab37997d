"""Live desk events across processes: PostgreSQL NOTIFY inside the writing transaction (delivered
only when it commits), LISTEN on a dedicated connection per open stream. Every web worker sees
every event, so a visitor and an operator may be served by different processes.

Channels: one per conversation (what the visitor's stream shows) and one per tenant (the
operators' live queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.db import Database, connect_args
from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.desk.realtime")
MAX_PAYLOAD_BYTES = 7000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


def conversation_channel(tenant_id: uuid.UUID, external_id: str) -> str:
    """Named by the client's conversation id, so a visitor can listen before the conversation exists."""
    digest = hashlib.sha256(f"{tenant_id}:{external_id}".encode()).hexdigest()[:40]
    return f"cbp_desk_c_{digest}"


def tenant_channel(tenant_id: uuid.UUID) -> str:
    return f"cbp_desk_t_{tenant_id.hex}"


async def publish(session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Send `payload` to `channel` when the session's transaction commits (dropped on rollback)."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(data.encode()) > MAX_PAYLOAD_BYTES:
        # Listeners reload what they need; the event still tells them something happened.
        data = json.dumps({k: v for k, v in payload.items() if k in {"type", "id", "status"}}, default=str)
    await session.execute(select(func.pg_notify(channel, data)))


@contextlib.asynccontextmanager
async def listen(
    database: Database, settings: Settings, channels: list[str]
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """A queue receiving the events of `channels` while the block runs (own connection, not the pool's)."""
    url = database.url.set(drivername="postgresql")
    connection = await asyncpg.connect(
        url.render_as_string(hide_password=False), **connect_args(settings, database.url)
    )
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            events.put_nowait(json.loads(payload))
        except (ValueError, asyncio.QueueFull):
            log.warning("desk event dropped")

    try:
        for channel in channels:
            await connection.add_listener(channel, deliver)
        yield events
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(connection.close(timeout=5))


KEEPALIVE = b": keepalive\n\n"
