"""Queued desk work: e-mails and webhooks, sent after the request's transaction commits and retried
with backoff by the queue (3 tries for e-mail, 5 for webhooks); a webhook that gives up is marked
`failed` on its submission."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from saq.job import Job

from chatbot_platform.desk import webhooks
from chatbot_platform.desk.repository import DeskSettingsRepo, FormRepo, HandoffRepo, SubmissionRepo
from chatbot_platform.kit import mail
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.jobs import JobContext, task

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAIL_TASK = "desk.send_mail"
WEBHOOK_TASK = "desk.deliver_webhook"
FORM_SUBMITTED = "form.submitted"
HANDOFF_REQUESTED = "handoff.requested"


@task(MAIL_TASK, queue="default", retries=3)
async def send_mail(ctx: JobContext, *, tenant_id: str, to: str, subject: str, body: str) -> bool:  # noqa: ARG001
    services: Services = ctx["services"]
    return await mail.deliver(services.settings, to, subject, body)


async def _webhook_gave_up(ctx: JobContext, job: Job) -> None:
    kwargs: dict[str, Any] = job.kwargs or {}
    if kwargs.get("event") != FORM_SUBMITTED:
        return
    services: Services = ctx["services"]
    async with services.database.transaction() as session:
        repo = SubmissionRepo(session, uuid.UUID(kwargs["tenant_id"]))
        submission = await repo.get(uuid.UUID(kwargs["object_id"]))
        if submission is not None:
            submission.webhook_status = "failed"
            await repo.save(submission)


@task(WEBHOOK_TASK, queue="default", retries=5, on_failure=_webhook_gave_up)
async def deliver_webhook(ctx: JobContext, *, tenant_id: str, event: str, object_id: str) -> int | None:
    """POST the event's payload (reloaded now) to the tenant's URL, signed; raises to be retried."""
    services: Services = ctx["services"]
    tenant = uuid.UUID(tenant_id)
    async with services.database.transaction() as session:
        target = await _target(session, tenant, event, uuid.UUID(object_id))
    if target is None:
        return None
    url, secret, payload = target
    allow_private = services.settings.security.fetch_allow_private_networks
    try:
        status = await webhooks.post(url, secret, event, payload, allow_private=allow_private)
    except webhooks.WebhookFailed:
        await _count_attempt(services, tenant, event, object_id, delivered=False)
        raise
    await _count_attempt(services, tenant, event, object_id, delivered=True)
    return status


async def _target(
    session: Any, tenant_id: uuid.UUID, event: str, object_id: uuid.UUID
) -> tuple[str, str | None, dict[str, Any]] | None:
    if event == FORM_SUBMITTED:
        submission = await SubmissionRepo(session, tenant_id).get(object_id)
        if submission is None:
            return None
        form = await FormRepo(session, tenant_id).get(submission.form_id)
        if form is None or not form.webhook_url:
            return None
        payload = {
            "event": event,
            "tenant_id": str(tenant_id),
            "form": {"id": str(form.id), "name": form.name, "title": form.title},
            "submission": {
                "id": str(submission.id),
                "data": submission.data,
                "conversation_id": submission.conversation_external_id,
                "visitor_id": submission.visitor_id,
                "created_at": submission.created_at.isoformat(),
            },
        }
        return form.webhook_url, form.webhook_secret, payload
    handoff = await HandoffRepo(session, tenant_id).get(object_id)
    desk = await DeskSettingsRepo(session, tenant_id).current()
    if handoff is None or desk is None or not desk.webhook_url:
        return None
    payload = {
        "event": event,
        "tenant_id": str(tenant_id),
        "handoff": {
            "id": str(handoff.id),
            "status": handoff.status,
            "reason": handoff.reason,
            "priority": handoff.priority,
            "requested_at": handoff.requested_at.isoformat(),
        },
    }
    return desk.webhook_url, desk.webhook_secret, payload


async def _count_attempt(
    services: Services, tenant_id: uuid.UUID, event: str, object_id: str, *, delivered: bool
) -> None:
    if event != FORM_SUBMITTED:
        return
    async with services.database.transaction() as session:
        repo = SubmissionRepo(session, tenant_id)
        submission = await repo.get(uuid.UUID(object_id))
        if submission is not None:
            submission.webhook_attempts += 1
            submission.webhook_status = "delivered" if delivered else "retrying"
            submission.updated_at = utcnow()
            await repo.save(submission)
