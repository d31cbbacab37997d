"""Lead-capture forms of the service desk: the list, a builder (fields with their rules, triggers,
e-mails, CRM webhook), and the submissions with their status and CSV export.

The builder works without script: every field is a row of inputs, and a few empty rows are always
offered for new fields (a row without a name is ignored)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import checked, problems, read_form, text
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.desk import forms
from chatbot_platform.desk.errors import FormNotFound
from chatbot_platform.desk.schemas import FieldType, Form, FormCreate, FormUpdate, SubmissionUpdate
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError, Unprocessable
from chatbot_platform.models import DeskForm

router = APIRouter(prefix="/t/{slug}/forms")
BLANK_ROWS = 3
MAX_ROWS = 50
PAGE_SIZE = 50
STATUSES = ("new", "in_progress", "done", "spam")
FIELD_TYPES = [t.value for t in FieldType]
NUMBERS = ("min_length", "max_length", "min", "max")


def _lines(value: str) -> list[str]:
    return [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]


def _number(raw: str) -> float | int | str | None:
    """Numbers as typed; a value that is no number goes to validation as it is (and is refused)."""
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def fields_from(form: FormData) -> list[dict[str, Any]]:
    rows = min(int(text(form, "field_rows") or 0) if text(form, "field_rows").isdigit() else 0, MAX_ROWS)
    fields: list[dict[str, Any]] = []
    for n in range(rows):
        name = text(form, f"f{n}_name")
        if not name:
            continue
        field: dict[str, Any] = {
            "name": name,
            "label": text(form, f"f{n}_label"),
            "type": text(form, f"f{n}_type") or "text",
            "required": checked(form, f"f{n}_required"),
            "placeholder": text(form, f"f{n}_placeholder") or None,
            "options": _lines(text(form, f"f{n}_options")),
            "pattern": text(form, f"f{n}_pattern") or None,
        }
        for key in NUMBERS:
            field[key] = _number(text(form, f"f{n}_{key}"))
        fields.append(field)
    return fields


def values_from(form: FormData) -> dict[str, Any]:
    after = text(form, "after_messages")
    return {
        "title": text(form, "title"),
        "description": text(form, "description") or None,
        "fields": fields_from(form),
        "triggers": {
            "keywords": _lines(text(form, "keywords")),
            "after_messages": after or None,
            "on_dont_know": checked(form, "on_dont_know"),
            "on_handoff_unavailable": checked(form, "on_handoff_unavailable"),
        },
        "enabled": checked(form, "enabled"),
        "min_fill_seconds": text(form, "min_fill_seconds") or 3,
        "notify_emails": _lines(text(form, "notify_emails")),
        "confirmation_subject": text(form, "confirmation_subject") or None,
        "confirmation_body": text(form, "confirmation_body") or None,
        "webhook_url": text(form, "webhook_url") or None,
    }


def _draft(values: dict[str, Any], name: str) -> dict[str, Any]:
    """What the builder shows again after a refused save: what was typed."""
    return {**values, "name": name, "id": None}


async def _builder(
    request: Request, form: Form | dict[str, Any] | None, status: int = 200, error: str | None = None
) -> Response:
    shown = form.model_dump(mode="json") if isinstance(form, Form) else form
    fields = list((shown or {}).get("fields", []))
    return render(
        request,
        "forms_edit.html",
        status,
        form=shown,
        rows=fields + [{}] * BLANK_ROWS,
        field_types=FIELD_TYPES,
        error=error,
    )


def _form_id(raw: str) -> uuid.UUID | None:
    """The form filter: empty means every form; anything else must be a form id."""
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise FormNotFound() from None


@router.get("", response_class=HTMLResponse)
async def form_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    rows = [forms.view(r) for r in await forms.list_(session, admin.tenant_id)]
    return render(request, "forms.html", forms=rows)


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, admin: Admin) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    return await _builder(request, None)


@router.post("", response_class=HTMLResponse)
async def create(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    form = await read_form(request)
    values = values_from(form)
    secret = text(form, "webhook_secret") or None
    try:
        data = FormCreate.model_validate({**values, "name": text(form, "name"), "webhook_secret": secret})
        async with session.begin_nested():
            row = await forms.create(session, admin.tenant_id, data)
    except ValidationError as exc:
        return await _builder(request, _draft(values, text(form, "name")), 422, problems(exc))
    except AppError as exc:
        return await _builder(request, _draft(values, text(form, "name")), exc.status_code, exc.message)
    await _audit(session, admin, "desk.form_created", row)
    return redirect(tenant_url(admin, f"/forms/{row.id}"), "flash.saved")


@router.get("/submissions", response_class=HTMLResponse)
async def submissions(
    request: Request,
    admin: Admin,
    session: SessionDep,
    form: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str | None, Query(pattern=r"^(new|in_progress|done|spam)?$")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    admin.require(Permission.VIEW)
    form_id = _form_id(form)
    rows, total = await forms.list_submissions(
        session, admin.tenant_id, form_id=form_id, status=status or None, limit=PAGE_SIZE, offset=offset
    )
    all_forms = {f.id: f for f in await forms.list_(session, admin.tenant_id)}
    return render(
        request,
        "forms_submissions.html",
        submissions=rows,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        forms=all_forms,
        chosen_form=form_id,
        chosen_status=status or "",
        statuses=STATUSES,
    )


@router.get("/submissions/export")
async def export(
    admin: Admin,
    session: SessionDep,
    form: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str | None, Query(pattern=r"^(new|in_progress|done|spam)?$")] = None,
) -> Response:
    admin.require(Permission.VIEW)
    body = await forms.export_csv(session, admin.tenant_id, form_id=_form_id(form), status=status or None)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="submissions.csv"'},
    )


@router.post("/submissions/{submission_id}/status")
async def set_status(
    request: Request, submission_id: uuid.UUID, admin: Admin, session: SessionDep
) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    form = await read_form(request)
    try:
        data = SubmissionUpdate.model_validate({"status": text(form, "status")})
    except ValidationError:
        raise Unprocessable("forms.bad_status") from None
    await forms.set_status(session, admin.tenant_id, submission_id, data.status)
    back = text(form, "back")
    target = (
        back
        if back.startswith(tenant_url(admin, "/forms/submissions"))
        else tenant_url(admin, "/forms/submissions")
    )
    return redirect(target, "flash.saved")


@router.get("/{form_id}", response_class=HTMLResponse)
async def edit_form(request: Request, form_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _builder(request, forms.view(await forms.get_or_raise(session, admin.tenant_id, form_id)))


@router.post("/{form_id}", response_class=HTMLResponse)
async def update(request: Request, form_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    current = forms.view(await forms.get_or_raise(session, admin.tenant_id, form_id))
    form = await read_form(request)
    values = values_from(form)
    secret = text(form, "webhook_secret")
    try:
        data = FormUpdate.model_validate({**values, **({"webhook_secret": secret} if secret else {})})
        async with session.begin_nested():
            row = await forms.update(session, admin.tenant_id, form_id, data)
    except ValidationError as exc:
        draft = {**_draft(values, current.name), "id": str(form_id)}
        return await _builder(request, draft, 422, problems(exc))
    await _audit(session, admin, "desk.form_updated", row)
    return redirect(tenant_url(admin, f"/forms/{form_id}"), "flash.saved")


@router.post("/{form_id}/delete")
async def delete(form_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    row = await forms.delete(session, admin.tenant_id, form_id)
    await _audit(session, admin, "desk.form_deleted", row)
    return redirect(tenant_url(admin, "/forms"), "flash.deleted")


async def _audit(session: SessionDep, admin: AdminContext, action: str, row: DeskForm) -> None:
    await audit.record(
        session,
        actor=admin.label,
        action=action,
        tenant_id=admin.tenant_id,
        target=row,
        details={"name": row.name},
    )
