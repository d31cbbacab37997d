"""Scheduled scrapes: the `scraper.scheduled-runs` periodic task of `cbp scheduler`.

Each due configuration is claimed with a compare-and-set on `next_run_at` (PostgreSQL makes a
second scheduler's UPDATE wait for the first and then find the row no longer matches), in the
same transaction that queues its run, so two schedulers never start the same configuration twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chatbot_platform.kit.repository import scan_across_tenants
from chatbot_platform.models import ScraperConfig
from chatbot_platform.scheduler.registry import PeriodicTask, register
from chatbot_platform.scraper import service, tasks  # noqa: F401 - tasks registers the job
from chatbot_platform.scraper.errors import RunAlreadyActive
from chatbot_platform.scraper.repository import ScraperConfigRepo

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAX_CLAIMS_PER_TICK = 200


async def run_due(services: Services, now: datetime) -> int:
    """Queue a run for every enabled configuration whose next run is due; returns how many."""
    if not services.settings.features.scraper_enabled:
        return 0
    async with services.database.transaction() as session:
        due = await scan_across_tenants(
            session,
            ScraperConfig,
            ScraperConfig.enabled.is_(True),
            ScraperConfig.schedule_interval_minutes.is_not(None),
            ScraperConfig.next_run_at <= now,
            limit=MAX_CLAIMS_PER_TICK,
        )
    started = 0
    for config in due:
        interval = timedelta(minutes=config.schedule_interval_minutes or 0)
        async with services.database.transaction() as session:
            claimed = await ScraperConfigRepo(session, config.tenant_id).update_where(
                {"next_run_at": now + interval},
                ScraperConfig.id == config.id,
                ScraperConfig.next_run_at == config.next_run_at,
            )
            if not claimed:
                continue  # another scheduler got it first
            try:
                await service.start_run(session, config.tenant_id, config.id, trigger="schedule")
            except RunAlreadyActive:
                continue  # the claim stands: the next run is one interval later
            started += 1
    return started


register(
    PeriodicTask("scraper.scheduled-runs", run_due, "Queue the runs of scraper configurations that are due.")
)
