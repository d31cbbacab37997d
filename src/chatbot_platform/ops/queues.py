"""What the queues hold right now: for `/health`, `/metrics` and `cbp queue status|monitor`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chatbot_platform.kit.db import Database
from chatbot_platform.kit.jobs import QUEUE_NAMES, JobQueues
from chatbot_platform.ops import failed_jobs


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    running: int
    scheduled: int
    workers: int
    oldest_waiting_seconds: float | None
    failed: int = 0


async def snapshot(queues: JobQueues, *, oldest: bool = True) -> list[QueueState]:
    """Counts per queue, the live workers SAQ knows of (any node) and the age of the oldest waiting job."""
    states = []
    now_ms = time.time() * 1000
    for name in QUEUE_NAMES:
        info = await queues.queue(name).info(jobs=oldest)
        waiting_since = [
            float(job["queued"])
            for job in info.get("jobs", [])
            if job.get("status") == "queued" and job.get("queued")
        ]
        states.append(
            QueueState(
                name=name,
                waiting=int(info["queued"]),
                running=int(info["active"]),
                scheduled=int(info.get("scheduled", 0)),
                workers=len(info["workers"]),
                oldest_waiting_seconds=round((now_ms - min(waiting_since)) / 1000, 1)
                if waiting_since
                else None,
            )
        )
    return states


async def snapshot_with_failed(
    queues: JobQueues, database: Database, *, oldest: bool = True
) -> list[QueueState]:
    async with database.transaction() as session:
        failed = await failed_jobs.count_by_queue(session)
    return [
        QueueState(**{**state.__dict__, "failed": failed.get(state.name, 0)})
        for state in await snapshot(queues, oldest=oldest)
    ]
