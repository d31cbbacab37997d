"""The tenant's own settings (owner and admin): name, default language, retrieval defaults; and
the audit log of admin actions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from chatbot_platform.admin import service
from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import problems, read_form, text
from chatbot_platform.admin.pages.knowledge import OVERRIDES, overrides_from
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.schemas import TenantUpdate

router = APIRouter()
AUDIT_PAGE = 50


async def _page(
    request: Request, admin: AdminContext, session: SessionDep, status: int = 200, error: str | None = None
) -> Response:
    tenant = await tenants.get_tenant_or_raise(session, admin.tenant_id)
    return render(request, "settings.html", status, settings_row=tenant, overrides=OVERRIDES, error=error)


@router.get("/t/{slug}/settings", response_class=HTMLResponse)
async def settings_form(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session)


@router.post("/t/{slug}/settings", response_class=HTMLResponse)
async def save_settings(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.MANAGE_TENANT)
    form = await read_form(request)
    values = {
        "name": text(form, "name"),
        "default_language": text(form, "default_language") or None,
        "settings": overrides_from(form),
    }
    try:
        data = TenantUpdate.model_validate(values)
        async with session.begin_nested():
            tenant = await tenants.update_tenant(session, admin.tenant_id, data)
    except ValidationError as exc:
        return await _page(request, admin, session, 422, problems(exc))
    except AppError as exc:
        return await _page(request, admin, session, exc.status_code, exc.message)
    await audit.record(
        session,
        actor=admin.label,
        action="tenant.updated",
        tenant_id=tenant.id,
        target=tenant,
        details=data.model_dump(exclude_unset=True, mode="json"),
    )
    return redirect(tenant_url(admin, "/settings"), "flash.saved")


@router.post("/t/{slug}/delete")
async def delete_tenant(admin: Admin, session: SessionDep) -> Response:
    """Delete the tenant and everything it owns (platform admins only)."""
    admin.require_platform_admin()
    tenant = await tenants.delete_tenant(session, admin.tenant_id)
    await audit.record(
        session, actor=admin.label, action="tenant.deleted", target=tenant, details={"slug": tenant.slug}
    )
    return redirect("/admin/tenants", "flash.deleted")


async def _audit_page(
    request: Request, admin: AdminContext, session: SessionDep, *, tenant_wide: bool
) -> Response:
    raw = request.query_params.get("offset", "0")
    offset = int(raw) if raw.isdigit() else 0
    entries = await audit.list_entries(
        session, tenant_id=admin.tenant_id if tenant_wide else None, limit=AUDIT_PAGE, offset=offset
    )
    names = await service.actor_names(session, [e.actor for e in entries])
    return render(request, "audit.html", entries=entries, names=names, offset=offset, page_size=AUDIT_PAGE)


@router.get("/t/{slug}/audit", response_class=HTMLResponse)
async def tenant_audit(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _audit_page(request, admin, session, tenant_wide=True)


@router.get("/audit", response_class=HTMLResponse)
async def platform_audit(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require_platform_admin()
    return await _audit_page(request, admin, session, tenant_wide=False)
