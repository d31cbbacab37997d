"""Lead-capture forms: definitions, triggers, submissions with spam protection, notifications.
Services never commit; e-mails and webhooks are queued after the commit."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.desk import config
from chatbot_platform.desk.errors import (
    DuplicateFormName,
    FormNotFound,
    InvalidSubmission,
    SubmissionNotFound,
    SubmittedTooFast,
)
from chatbot_platform.desk.repository import FormRepo, SubmissionRepo
from chatbot_platform.desk.schemas import (
    FieldType,
    Form,
    FormCreate,
    FormField,
    FormTriggers,
    FormUpdate,
    PublicForm,
    SubmissionCreate,
    TriggerCheck,
)
from chatbot_platform.desk.tasks import FORM_SUBMITTED, MAIL_TASK, WEBHOOK_TASK
from chatbot_platform.desk.texts import text
from chatbot_platform.desk.validation import validate
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.models import DeskForm, DeskFormSubmission

TOKEN_MAX_AGE_SECONDS = 24 * 3600
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
EXPORT_LIMIT = 50_000


# -- definitions -----------------------------------------------------------------------------------


def view(row: DeskForm) -> Form:
    return Form(
        id=row.id,
        name=row.name,
        title=row.title,
        description=row.description,
        fields=[FormField.model_validate(f) for f in row.fields],
        triggers=FormTriggers.model_validate(row.triggers),
        enabled=row.enabled,
        min_fill_seconds=row.min_fill_seconds,
        notify_emails=row.notify_emails,
        confirmation_subject=row.confirmation_subject,
        confirmation_body=row.confirmation_body,
        webhook_url=row.webhook_url,
        webhook_secret_set=bool(row.webhook_secret),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create(session: AsyncSession, tenant_id: uuid.UUID, data: FormCreate) -> DeskForm:
    values = data.model_dump(mode="json")
    return await FormRepo(session, tenant_id).add(DeskForm(**values), conflict=DuplicateFormName())


async def list_(session: AsyncSession, tenant_id: uuid.UUID) -> list[DeskForm]:
    return await FormRepo(session, tenant_id).list(order_by=[DeskForm.created_at])


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, form_id: uuid.UUID) -> DeskForm:
    row = await FormRepo(session, tenant_id).get(form_id)
    if row is None:
        raise FormNotFound()
    return row


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, form_id: uuid.UUID, data: FormUpdate
) -> DeskForm:
    row = await get_or_raise(session, tenant_id, form_id)
    nullable = {"description", "confirmation_subject", "confirmation_body", "webhook_url", "webhook_secret"}
    for name, value in data.model_dump(exclude_unset=True, mode="json").items():
        if value is not None or name in nullable:
            setattr(row, name, value)
    return await FormRepo(session, tenant_id).save(row)


async def delete(session: AsyncSession, tenant_id: uuid.UUID, form_id: uuid.UUID) -> DeskForm:
    row = await get_or_raise(session, tenant_id, form_id)
    await FormRepo(session, tenant_id).delete(row)
    return row


# -- in the widget ---------------------------------------------------------------------------------


def _token_key(signing_key: bytes) -> bytes:
    return hmac.new(signing_key, b"desk form token", hashlib.sha256).digest()


def form_token(signing_key: bytes, form_id: uuid.UUID, issued_at: float | None = None) -> str:
    """When the form was shown, signed: the submission proves how long the visitor took."""
    issued = int(time.time() if issued_at is None else issued_at)
    mac = hmac.new(_token_key(signing_key), f"{form_id}.{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac[:32]}"


def _seconds_since_shown(signing_key: bytes, form_id: uuid.UUID, token: str) -> float | None:
    issued, _, _mac = token.partition(".")
    try:
        issued_at = int(issued)
    except ValueError:
        return None
    if not hmac.compare_digest(form_token(signing_key, form_id, issued_at), token):
        return None
    return time.time() - issued_at


def public(row: DeskForm, signing_key: bytes) -> PublicForm:
    return PublicForm(
        id=row.id,
        title=row.title,
        description=row.description,
        fields=[FormField.model_validate(f) for f in row.fields],
        form_token=form_token(signing_key, row.id),
    )


async def get_public_or_raise(session: AsyncSession, tenant_id: uuid.UUID, form_id: uuid.UUID) -> DeskForm:
    row = await get_or_raise(session, tenant_id, form_id)
    if not row.enabled:
        raise FormNotFound()
    return row


def matches(triggers: FormTriggers, check: TriggerCheck) -> bool:
    if check.handoff_unavailable and triggers.on_handoff_unavailable:
        return True
    if check.dont_know and triggers.on_dont_know:
        return True
    if triggers.after_messages is not None and check.message_count is not None:
        if check.message_count >= triggers.after_messages:
            return True
    if check.message and triggers.keywords:
        lowered = check.message.lower()
        return any(k.strip().lower() and k.strip().lower() in lowered for k in triggers.keywords)
    return False


async def triggered(session: AsyncSession, tenant_id: uuid.UUID, check: TriggerCheck) -> DeskForm | None:
    """The first enabled form (oldest first) whose triggers match what just happened in the widget."""
    for row in await FormRepo(session, tenant_id).list(
        DeskForm.enabled.is_(True), order_by=[DeskForm.created_at]
    ):
        if matches(FormTriggers.model_validate(row.triggers), check):
            return row
    return None


@dataclass(frozen=True)
class Submitter:
    visitor_id: str | None
    conversation_external_id: str | None
    language: str


async def submit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    form_id: uuid.UUID,
    body: SubmissionCreate,
    submitter: Submitter,
    *,
    signing_key: bytes,
) -> DeskFormSubmission:
    """Check, store, and queue the e-mails and the webhook. A filled honeypot is stored as spam,
    silently (robots learn nothing); too fast or invalid values are refused with reasons."""
    form = await get_public_or_raise(session, tenant_id, form_id)
    language = body.locale or submitter.language
    repo = SubmissionRepo(session, tenant_id)
    if body.website:
        spam = DeskFormSubmission(
            form_id=form.id,
            visitor_id=submitter.visitor_id,
            conversation_external_id=submitter.conversation_external_id,
            data={},
            status="spam",
            webhook_attempts=0,
        )
        return await repo.add(spam)
    elapsed = _seconds_since_shown(signing_key, form.id, body.form_token)
    if elapsed is None or elapsed > TOKEN_MAX_AGE_SECONDS:
        raise InvalidSubmission({"form_token": "Reload the form and try again."}, "The form expired.")
    if elapsed < form.min_fill_seconds:
        raise SubmittedTooFast({"min_fill_seconds": form.min_fill_seconds})
    fields = [FormField.model_validate(f) for f in form.fields]
    clean, errors = validate(fields, body.data, language)
    if errors:
        raise InvalidSubmission(errors)
    submission = DeskFormSubmission(
        form_id=form.id,
        visitor_id=submitter.visitor_id,
        conversation_external_id=submitter.conversation_external_id,
        data=clean,
        status="new",
        webhook_status="pending" if form.webhook_url else None,
        webhook_attempts=0,
    )
    await repo.add(submission)
    await _queue_notifications(session, tenant_id, form, fields, submission, language)
    return submission


async def _queue_notifications(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    form: DeskForm,
    fields: list[FormField],
    submission: DeskFormSubmission,
    language: str,
) -> None:
    recipients = form.notify_emails or (await config.get(session, tenant_id)).notify_emails
    lines = [f"{f.label}: {_shown(submission.data.get(f.name))}" for f in fields]
    summary = "\n".join(lines)
    for address in recipients:
        _mail(
            session,
            tenant_id,
            f"desk-sub-{submission.id}-{address}",
            address,
            text("submission_subject", language, form=form.title),
            summary + "\n",
        )
    visitor = next(
        (submission.data[f.name] for f in fields if f.type is FieldType.EMAIL and f.name in submission.data),
        None,
    )
    if visitor:
        subject = _filled(
            form.confirmation_subject or text("confirmation_subject", language), submission.data
        )
        template = form.confirmation_body or text("confirmation_body", language, form=form.title)
        body = _filled(template, submission.data)
        _mail(session, tenant_id, f"desk-sub-{submission.id}-confirmation", str(visitor), subject, body)
    if form.webhook_url:
        enqueue_after_commit(
            session,
            WEBHOOK_TASK,
            key=f"desk-sub-{submission.id}-webhook",
            tenant_id=str(tenant_id),
            event=FORM_SUBMITTED,
            object_id=str(submission.id),
        )


def _filled(template: str, data: dict[str, Any]) -> str:
    """`{field}` placeholders replaced by the submitted values (nothing else is interpreted)."""
    return _PLACEHOLDER.sub(lambda m: _shown(data.get(m.group(1), m.group(0))), template)


def _mail(session: AsyncSession, tenant_id: uuid.UUID, key: str, to: str, subject: str, body: str) -> None:
    enqueue_after_commit(
        session, MAIL_TASK, key=key, tenant_id=str(tenant_id), to=to, subject=subject, body=body
    )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✔" if value else "✘"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- submissions -----------------------------------------------------------------------------------


async def list_submissions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    form_id: uuid.UUID | None,
    status: str | None,
    limit: int | None,
    offset: int = 0,
) -> tuple[list[DeskFormSubmission], int]:
    """Newest first; spam only when asked for by status."""
    where = []
    if form_id is not None:
        where.append(DeskFormSubmission.form_id == form_id)
    where.append(DeskFormSubmission.status == status if status else DeskFormSubmission.status != "spam")
    repo = SubmissionRepo(session, tenant_id)
    items = await repo.list(
        *where, order_by=[DeskFormSubmission.created_at.desc()], limit=limit, offset=offset
    )
    return items, await repo.count(*where)


async def set_status(
    session: AsyncSession, tenant_id: uuid.UUID, submission_id: uuid.UUID, status: str
) -> DeskFormSubmission:
    repo = SubmissionRepo(session, tenant_id)
    row = await repo.get(submission_id)
    if row is None:
        raise SubmissionNotFound()
    row.status = status
    return await repo.save(row)


async def export_csv(
    session: AsyncSession, tenant_id: uuid.UUID, *, form_id: uuid.UUID | None, status: str | None
) -> str:
    """One row per submission: id, form, status, time, then one column per field of the forms."""
    rows, _ = await list_submissions(session, tenant_id, form_id=form_id, status=status, limit=EXPORT_LIMIT)
    forms = {f.id: f for f in await list_(session, tenant_id)}
    columns: list[str] = []
    for form in forms.values():
        if form_id is None or form.id == form_id:
            columns += [f["name"] for f in form.fields if f["name"] not in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "form", "status", "created_at", "conversation_id", "webhook_status", *columns])
    for row in rows:
        owner = forms.get(row.form_id)
        writer.writerow(
            [
                str(row.id),
                owner.name if owner else "",
                row.status,
                row.created_at.isoformat(),
                row.conversation_external_id or "",
                row.webhook_status or "",
                *[_csv_cell(row.data.get(c)) for c in columns],
            ]
        )
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula."""
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else _shown(value)
    if isinstance(value, bool):
        shown = "true" if value else "false"
    return "'" + shown if shown[:1] in ("=", "+", "-", "@", "\t", "\r") else shown


async def delete_submissions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    visitor_id: str | None = None,
    before: datetime | None = None,
) -> int:
    """Erase a visitor's submissions, or those older than `before` (retention)."""
    where = []
    if visitor_id is not None:
        where.append(DeskFormSubmission.visitor_id == visitor_id)
    if before is not None:
        where.append(DeskFormSubmission.created_at < before)
    if not where:
        raise ValueError("say whose submissions, or which age")
    repo = SubmissionRepo(session, tenant_id)
    deleted = 0
    while rows := await repo.list(*where, limit=500):
        for row in rows:
            await repo.delete(row)
        deleted += len(rows)
    return deleted
