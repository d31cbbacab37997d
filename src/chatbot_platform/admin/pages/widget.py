"""The website widget: look (colours with a live preview), allowed sites, assistant, publishable
keys (pk_…, shown once) and the embed snippet."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import checked, problems, read_form, text
from chatbot_platform.admin.pages.rag import assistant_targets
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.widget import service as widget
from chatbot_platform.widget.assets import SCRIPT_PATH
from chatbot_platform.widget.schemas import Theme, WidgetConfigUpdate, WidgetKeyCreate

router = APIRouter(prefix="/t/{slug}/widget")
COLOURS = ("primary_color", "text_on_primary", "background_color", "text_color")


def _update_from(form: FormData, current: Theme) -> WidgetConfigUpdate:
    """The form's fields over the current theme: fields the form does not show are kept."""
    theme: dict[str, Any] = current.model_dump(mode="json")
    for name in COLOURS:
        theme[name] = text(form, name) or theme[name]
    theme["title"] = text(form, "title") or None
    theme["position"] = text(form, "position") or theme["position"]
    theme["welcome_message"] = {lang: msg for lang in ("it", "en") if (msg := text(form, f"welcome_{lang}"))}
    origins = [line.strip() for line in text(form, "allowed_origins").splitlines() if line.strip()]
    return WidgetConfigUpdate.model_validate(
        {
            "enabled": checked(form, "enabled"),
            "allowed_origins": origins,
            "assistant": text(form, "assistant") or "default",
            "theme": theme,
        }
    )


async def _page(
    request: Request,
    admin: AdminContext,
    session: SessionDep,
    settings: SettingsDep,
    status: int = 200,
    **extra: Any,
) -> Response:
    config = await widget.get_config(session, admin.tenant_id)
    keys = await widget.list_keys(session, admin.tenant_id)
    base = settings.app.url.rstrip("/")
    secret = extra.get("secret")
    snippet = (
        f'<script src="{base}{SCRIPT_PATH}" data-tenant="{admin.current_tenant.slug}" '
        f'data-key="{secret or "pk_…"}" async></script>'
    )
    values = {"error": None, "secret": None, **extra}
    return render(
        request,
        "widget.html",
        status,
        config=config,
        keys=keys,
        snippet=snippet,
        colours=COLOURS,
        targets=await assistant_targets(session, admin),
        enabled=settings.features.widget_enabled,
        **values,
    )


@router.get("", response_class=HTMLResponse)
async def widget_page(request: Request, admin: Admin, session: SessionDep, settings: SettingsDep) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session, settings)


@router.post("", response_class=HTMLResponse)
async def save(request: Request, admin: Admin, session: SessionDep, settings: SettingsDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    current = await widget.get_config(session, admin.tenant_id)
    try:
        data = _update_from(await read_form(request), current.theme)
        async with session.begin_nested():
            await widget.update_config(session, admin.tenant_id, data)
    except ValidationError as exc:
        return await _page(request, admin, session, settings, 422, error=problems(exc))
    except AppError as exc:
        return await _page(request, admin, session, settings, exc.status_code, error=exc.message)
    await audit.record(
        session,
        actor=admin.label,
        action="widget.updated",
        tenant_id=admin.tenant_id,
        details=data.model_dump(mode="json", exclude_none=True),
    )
    return redirect(tenant_url(admin, "/widget"), "flash.saved")


@router.post("/keys", response_class=HTMLResponse)
async def issue_key(request: Request, admin: Admin, session: SessionDep, settings: SettingsDep) -> Response:
    """The page that answers this POST is the only place the key appears (and in the preview)."""
    admin.require(Permission.MANAGE_KEYS)
    try:
        data = WidgetKeyCreate.model_validate({"name": text(await read_form(request), "name") or "website"})
    except ValidationError as exc:
        return await _page(request, admin, session, settings, 422, error=problems(exc))
    issued = await widget.issue_key(session, admin.tenant_id, data)
    await audit.record(
        session,
        actor=admin.label,
        action="widget_key.issued",
        tenant_id=admin.tenant_id,
        target=issued.widget_key,
        details={"name": data.name},
    )
    return await _page(request, admin, session, settings, secret=issued.secret)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.MANAGE_KEYS)
    key = await widget.revoke_key(session, admin.tenant_id, key_id)
    await audit.record(
        session, actor=admin.label, action="widget_key.revoked", tenant_id=admin.tenant_id, target=key
    )
    return redirect(tenant_url(admin, "/widget"), "flash.revoked")
