"""The scheduled backup: `cbp scheduler` runs `cbp backup` at BACKUP_SCHEDULE (cron, APP_TIMEZONE).

Each due time is claimed once across every scheduler (a conditional upsert on `ops_state`), so
several nodes running the scheduler make one backup, and a backup missed while no scheduler ran is
made at the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]
from sqlalchemy.dialects.postgresql import insert

from chatbot_platform.models import OpsState
from chatbot_platform.scheduler.registry import PeriodicTask, register

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)
STATE_KEY = "backup_schedule"
FIRST_RUN_GRACE = timedelta(minutes=10)  # a brand-new scheduler backs up only a just-due time


def last_due(schedule: str, now: datetime, timezone: str) -> datetime:
    """The latest time at or before `now` that the cron expression names, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    due: datetime = croniter(schedule, local + timedelta(seconds=1)).get_prev(datetime)
    return due.astimezone(ZoneInfo("UTC"))


async def claim(services: Services, due: datetime, now: datetime) -> bool:
    """True for exactly one caller per due time."""
    value = {"last_due": due.isoformat()}
    insert_ = insert(OpsState).values(key=STATE_KEY, value=value)
    statement = insert_.on_conflict_do_update(
        index_elements=[OpsState.key],
        set_={"value": insert_.excluded.value},
        where=OpsState.value["last_due"].astext < due.isoformat(),
    ).returning(OpsState.key)
    async with services.database.transaction() as session:
        existed = await session.get(OpsState, STATE_KEY) is not None
        claimed = (await session.execute(statement)).first() is not None
    return claimed and (existed or now - due <= FIRST_RUN_GRACE)


async def run_due_backup(services: Services, now: datetime) -> int:
    settings = services.settings
    if not settings.backup.enabled:
        return 0
    due = last_due(settings.backup.schedule, now, settings.app.timezone)
    if not await claim(services, due, now):
        return 0
    from chatbot_platform.ops.backup import create_backup

    result = await create_backup(settings, services.database, services.files)
    log.info("scheduled backup done", extra={"backup": result.name, "due": due.isoformat()})
    return 1


register(
    PeriodicTask(
        name="ops.backup",
        run_due=run_due_backup,
        description="Back up the database and stored files at BACKUP_SCHEDULE (when BACKUP_ENABLED).",
    )
)
