"""Jobs that used up their tries: recorded with the reason, listed and retried by `cbp queue`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from saq.job import Job
from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.context import request_id_var, tenant_id_var
from chatbot_platform.kit.db import Database
from chatbot_platform.kit.jobs import JobQueues, TaskSpec
from chatbot_platform.kit.repository import Repository
from chatbot_platform.models import FailedJob

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 4000


class FailedJobRepo(Repository[FailedJob]):
    model = FailedJob


def _tenant_of(kwargs: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(kwargs["tenant_id"]))
    except (KeyError, ValueError):
        return None


async def record(database: Database, job: Job, spec: TaskSpec) -> None:
    async with database.transaction() as session:
        await FailedJobRepo(session).add(
            FailedJob(
                tenant_id=_tenant_of(job.kwargs or {}),
                queue=spec.queue,
                task=spec.name,
                job_key=job.key,
                kwargs=dict(job.kwargs or {}),
                error=(job.error or "unknown error")[-MAX_ERROR_CHARS:],
                attempts=job.attempts,
            )
        )
    reason = (job.error or "unknown error").strip().splitlines()[-1][:500] if job.error else "unknown error"
    tenant_id = _tenant_of(job.kwargs or {})
    request_token = request_id_var.set(f"job:{job.key}")
    tenant_token = tenant_id_var.set(str(tenant_id) if tenant_id else None)
    try:
        # At error level: this line is what raises the Slack/Teams alert and the Sentry event.
        _log_failure(job, spec, reason)
    finally:
        request_id_var.reset(request_token)
        tenant_id_var.reset(tenant_token)


def _log_failure(job: Job, spec: TaskSpec, reason: str) -> None:
    log.error(
        "job failed",
        extra={
            "queue": spec.queue,
            "task": spec.name,
            "job_key": job.key,
            "attempts": job.attempts,
            "reason": reason,
        },
    )


async def list_failed(
    session: AsyncSession, *, queue: str | None = None, limit: int = 100
) -> list[FailedJob]:
    where: list[ColumnElement[bool]] = [FailedJob.retried_at.is_(None)]
    if queue is not None:
        where.append(FailedJob.queue == queue)
    return await FailedJobRepo(session).list(*where, order_by=[FailedJob.failed_at.desc()], limit=limit)


async def retry(session: AsyncSession, queues: JobQueues, failed: FailedJob) -> None:
    """Send the job again (same task and arguments) and mark the record as retried."""
    await queues.enqueue(failed.task, key=f"{failed.job_key}:retry:{uuid.uuid4().hex[:8]}", **failed.kwargs)
    failed.retried_at = utcnow()
    await session.flush()


async def flush(session: AsyncSession) -> int:
    """Forget every failed-job record."""
    repo = FailedJobRepo(session)
    records = await repo.list()
    for record_ in records:
        await repo.delete(record_)
    return len(records)


async def count_by_queue(session: AsyncSession) -> dict[str, int]:
    """Failed jobs not yet retried, per queue."""
    rows = await FailedJobRepo(session).grouped(
        FailedJob.queue, func.count(), group_by=[FailedJob.queue], where=[FailedJob.retried_at.is_(None)]
    )
    return {str(queue): int(count) for queue, count in rows}


async def get(session: AsyncSession, failed_id: uuid.UUID) -> FailedJob | None:
    return await FailedJobRepo(session).get(failed_id)
