"""Job queues (platform admin): depth per queue, failed jobs and their retry."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from chatbot_platform.admin.auth import Admin
from chatbot_platform.admin.rendering import redirect, render
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import NotFound
from chatbot_platform.kit.jobs import QUEUE_NAMES
from chatbot_platform.ops import failed_jobs
from chatbot_platform.runtime import ServicesDep

router = APIRouter(prefix="/queues")
FAILED_SHOWN = 100


@router.get("", response_class=HTMLResponse)
async def queues(request: Request, admin: Admin, session: SessionDep, services: ServicesDep) -> Response:
    admin.require_platform_admin()
    failed = await failed_jobs.list_failed(session, limit=FAILED_SHOWN)
    waiting = await failed_jobs.count_by_queue(session)
    depths = []
    for name in QUEUE_NAMES:
        queue = services.queues.queue(name)
        depths.append((name, await queue.count("queued"), await queue.count("active"), waiting.get(name, 0)))
    return render(request, "queues.html", depths=depths, failed=failed)


@router.post("/failed/{failed_id}/retry")
async def retry(failed_id: uuid.UUID, admin: Admin, session: SessionDep, services: ServicesDep) -> Response:
    admin.require_platform_admin()
    record = await failed_jobs.get(session, failed_id)
    if record is None or record.retried_at is not None:
        raise NotFound("error.404")
    await failed_jobs.retry(session, services.queues, record)
    await audit.record(
        session,
        actor=admin.label,
        action="job.retried",
        tenant_id=record.tenant_id,
        details={"task": record.task, "queue": record.queue},
    )
    return redirect("/admin/queues", "flash.queued")
