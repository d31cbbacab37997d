"""The live streams: a visitor's conversation (operator messages, handoff status) and a tenant's
desk (queue changes, visitors' messages), as server-sent events from realtime.listen."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chatbot_platform.desk import config, handoff, realtime
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.sse import encode
from chatbot_platform.models import HandoffStatus
from chatbot_platform.models.desk_handoff import OPEN_STATUSES

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

KEEPALIVE_SECONDS = 15.0


async def visitor_events(
    services: Services, tenant_id: uuid.UUID, conversation_external_id: str
) -> AsyncGenerator[bytes, None]:
    """The visitor's stream: the current state first, then every change; a queued request that
    nobody takes in time is timed out from here too (no scheduler needed)."""
    channel = realtime.conversation_channel(tenant_id, conversation_external_id)
    async with realtime.listen(services.database, services.settings, [channel]) as events:
        deadline, state = await _state(services, tenant_id, conversation_external_id)
        yield encode({"type": "handoff", **state})
        while True:
            wait = KEEPALIVE_SECONDS
            if deadline is not None:
                wait = min(wait, max(0.2, (deadline - utcnow()).total_seconds() + 0.2))
            try:
                event = await asyncio.wait_for(events.get(), wait)
            except TimeoutError:
                if deadline is not None and utcnow() >= deadline:
                    async with services.database.transaction() as session:
                        await handoff.expire_due(session, tenant_id)
                    deadline = None
                    continue
                yield realtime.KEEPALIVE
                continue
            if event.get("type") == "handoff":
                deadline, _ = await _state(services, tenant_id, conversation_external_id)
            yield encode(event)


async def _state(
    services: Services, tenant_id: uuid.UUID, conversation_external_id: str
) -> tuple[Any, dict[str, Any]]:
    """When a queued request times out (None if none is queued), and the latest handoff's state."""
    async with services.database.transaction() as session:
        latest = await handoff.latest_for_conversation(session, tenant_id, conversation_external_id)
        if latest is None:
            return None, {"status": None}
        deadline = None
        if latest.status == HandoffStatus.QUEUED:
            timeout = (await config.get(session, tenant_id)).queue_timeout_seconds
            deadline = latest.requested_at + timedelta(seconds=timeout)
        # An open request's notice comes along: a change made before this stream listened (an
        # operator taking it right away) still reaches the visitor, who skips a notice already shown.
        message = None
        if latest.status in OPEN_STATUSES:
            message = handoff.open_notice(latest, await handoff.language_of(session, tenant_id))
        return deadline, {
            "status": latest.status,
            "handoff_id": str(latest.id),
            "operator": latest.operator,
            "message": message,
        }


async def desk_events(services: Services, tenant_id: uuid.UUID) -> AsyncGenerator[bytes, None]:
    """The operators' stream: `queue` and `visitor_message` events of the tenant."""
    async with realtime.listen(
        services.database, services.settings, [realtime.tenant_channel(tenant_id)]
    ) as events:
        yield encode({"type": "ready"})
        while True:
            try:
                event = await asyncio.wait_for(events.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield realtime.KEEPALIVE
                continue
            yield encode(event)
