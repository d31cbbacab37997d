"""The periodic tasks `cbp scheduler` runs, registered the way a third party would register one.

A task's `run_due(services, now)` claims whatever is due *atomically* (a compare-and-set UPDATE,
or `FOR UPDATE SKIP LOCKED`) and starts it, so any number of schedulers can run side by side
without doing the same work twice. It returns how many things it started.

To add a task: define it in your feature (`scheduler.register(PeriodicTask(...))` at import time)
and add the module to `PERIODIC_MODULES` so `load_periodic_tasks()` imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

RunDue = Callable[["Services", datetime], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicTask:
    """Something the scheduler checks every tick; `run_due` claims and starts what is due."""

    name: str
    run_due: RunDue
    description: str = ""


PERIODIC_TASKS: dict[str, PeriodicTask] = {}

# Modules whose import registers periodic tasks.
PERIODIC_MODULES: list[str] = [
    "chatbot_platform.scraper.schedule",
    "chatbot_platform.ops.backup_schedule",
    "chatbot_platform.conversations.privacy",
    "chatbot_platform.desk.schedule",
]


def register(task: PeriodicTask) -> PeriodicTask:
    """Add (or replace, by name) a periodic task."""
    PERIODIC_TASKS[task.name] = task
    return task


def load_periodic_tasks() -> list[PeriodicTask]:
    """Import every module that registers periodic tasks; the tasks in name order."""
    for module in PERIODIC_MODULES:
        importlib.import_module(module)
    return [PERIODIC_TASKS[name] for name in sorted(PERIODIC_TASKS)]
