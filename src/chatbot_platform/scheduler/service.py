"""One scheduler tick runs every registered task; the loop ticks until it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.scheduler.registry import PeriodicTask, load_periodic_tasks

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one tick started per task, and the tasks that failed (their error class)."""

    started: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


async def tick(
    services: Services, now: datetime | None = None, tasks: list[PeriodicTask] | None = None
) -> TickReport:
    """Run every periodic task once; one task failing never stops the others."""
    now = now or utcnow()
    report = TickReport()
    for task in tasks if tasks is not None else load_periodic_tasks():
        try:
            report.started[task.name] = await task.run_due(services, now)
        except Exception as exc:  # a broken task must not stop the scheduler
            log.exception("periodic task failed", extra={"task": task.name})
            report.failed[task.name] = type(exc).__name__
    return report


async def run_forever(
    services: Services, *, interval: float, stop: asyncio.Event, tasks: list[PeriodicTask] | None = None
) -> None:
    """Tick every `interval` seconds until `stop` is set."""
    tasks = tasks if tasks is not None else load_periodic_tasks()
    while not stop.is_set():
        report = await tick(services, tasks=tasks)
        if any(report.started.values()) or report.failed:
            log.info("scheduler tick", extra={"started": report.started, "failed": report.failed})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
