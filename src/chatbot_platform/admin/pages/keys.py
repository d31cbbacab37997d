"""API keys of a tenant: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import choices, problems, read_form, text
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.schemas import ApiKeyCreate
from chatbot_platform.tenants.scopes import ALL_SCOPES

router = APIRouter(prefix="/t/{slug}/keys")


async def _page(
    request: Request, admin: AdminContext, session: SessionDep, status: int = 200, **extra: object
) -> Response:
    keys = await tenants.list_api_keys(session, admin.tenant_id)
    values = {"error": None, "secret": None, **extra}
    return render(request, "keys.html", status, keys=keys, scopes=[s.value for s in ALL_SCOPES], **values)


@router.get("", response_class=HTMLResponse)
async def key_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session)


@router.post("", response_class=HTMLResponse)
async def issue(request: Request, admin: Admin, session: SessionDep) -> Response:
    """The page that answers this POST is the only place the secret ever appears."""
    admin.require(Permission.MANAGE_KEYS)
    form = await read_form(request)
    try:
        data = ApiKeyCreate.model_validate(
            {"name": text(form, "name"), "scopes": choices(form, "scopes") or None}
        )
    except ValidationError as exc:
        return await _page(request, admin, session, 422, error=problems(exc))
    issued = await tenants.issue_api_key(session, admin.tenant_id, data)
    await audit.record(
        session,
        actor=admin.label,
        action="api_key.issued",
        tenant_id=admin.tenant_id,
        target=issued.api_key,
        details={"name": data.name},
    )
    response = await _page(request, admin, session, secret=issued.secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/{key_id}/revoke")
async def revoke(key_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.MANAGE_KEYS)
    api_key = await tenants.revoke_api_key(session, admin.tenant_id, key_id)
    await audit.record(
        session, actor=admin.label, action="api_key.revoked", tenant_id=admin.tenant_id, target=api_key
    )
    return redirect(tenant_url(admin, "/keys"), "flash.revoked")
