"""Whether a human can answer now: inside the weekly schedule (tenant time zone) and someone present."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chatbot_platform.desk.schemas import WEEKDAYS

PRESENCE_SECONDS = 90  # an operator whose console has not sent a heartbeat for this long is away


def within_schedule(schedule: dict[str, Any], timezone: str, now: datetime) -> bool:
    """True inside one of today's intervals (local time); an empty schedule is always open."""
    if not schedule:
        return True
    local = now.astimezone(ZoneInfo(timezone))
    hhmm = local.strftime("%H:%M")
    return any(start <= hhmm < end for start, end in schedule.get(WEEKDAYS[local.weekday()], []))
