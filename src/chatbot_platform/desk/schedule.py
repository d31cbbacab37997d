"""The desk's periodic work for `cbp scheduler`: time out handoffs nobody took."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chatbot_platform.desk import handoff
from chatbot_platform.scheduler.registry import PeriodicTask, register

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services


async def expire_handoffs(services: Services, now: datetime) -> int:
    """Queued requests past their tenant's timeout become timed_out, and their visitors are told."""
    async with services.database.transaction() as session:
        return await handoff.expire_all_due(session, now)


register(
    PeriodicTask(
        "desk.handoff_timeouts", expire_handoffs, "Time out handoff requests no operator took in time."
    )
)
