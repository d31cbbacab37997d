"""The dashboards (platform and tenant), the tenant switcher and the platform admin's tenant list."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from chatbot_platform.admin import service
from chatbot_platform.admin.auth import Admin
from chatbot_platform.admin.forms import optional, problems, read_form, text
from chatbot_platform.admin.rendering import redirect, render
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.ops.health import run_checks
from chatbot_platform.runtime import Services, ServicesDep
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.schemas import TenantCreate

router = APIRouter()
HEALTH_TIMEOUT_SECONDS = 2.0
RECENT_ENTRIES = 15


async def health(services: Services) -> dict[str, bool]:
    checks = await run_checks(services.database)
    result = {name: bool(check["ok"]) for name, check in checks.items()}
    if services.redis is not None:
        try:
            result["redis"] = bool(await asyncio.wait_for(services.redis.ping(), HEALTH_TIMEOUT_SECONDS))
        except Exception:  # any failure is an unhealthy Redis; the page says so
            result["redis"] = False
    result["chat_model"] = services.chat_model is not None
    return result


@router.get("/", response_class=HTMLResponse)
async def platform_home(
    request: Request, admin: Admin, session: SessionDep, services: ServicesDep
) -> Response:
    """Platform admins see the platform; a member of one tenant goes straight to it."""
    if not admin.is_platform_admin and len(admin.tenants) == 1:
        return redirect(f"/admin/t/{admin.tenants[0].slug}/")
    counts: dict[str, Any] = {}
    entries = []
    if admin.is_platform_admin:
        counts = await service.platform_counts(session)
        entries = await audit.list_entries(session, limit=RECENT_ENTRIES)
    return render(
        request,
        "dashboard.html",
        counts=counts,
        health=await health(services),
        entries=entries,
        names=await service.actor_names(session, [e.actor for e in entries]),
        tenant_counts=None,
    )


@router.get("/switch")
async def switch_tenant(request: Request, admin: Admin) -> Response:
    """The tenant switcher's form (GET, so it works without JavaScript)."""
    wanted = request.query_params.get("tenant", "")
    if any(t.slug == wanted for t in admin.tenants):
        return redirect(f"/admin/t/{wanted}/")
    return redirect("/admin/")


@router.get("/t/{slug}/", response_class=HTMLResponse)
async def tenant_home(request: Request, admin: Admin, session: SessionDep, services: ServicesDep) -> Response:
    counts = await service.tenant_counts(session, admin.tenant_id)
    entries = await audit.list_entries(session, tenant_id=admin.tenant_id, limit=RECENT_ENTRIES)
    return render(
        request,
        "dashboard.html",
        counts={},
        health=await health(services),
        entries=entries,
        names=await service.actor_names(session, [e.actor for e in entries]),
        tenant_counts=counts,
    )


TENANTS_PAGE = 100


async def _tenants_page(
    request: Request, session: SessionDep, status: int = 200, **extra: object
) -> Response:
    raw = request.query_params.get("offset", "0")
    offset = int(raw) if raw.isdigit() else 0
    items, total = await tenants.list_tenants(session, limit=TENANTS_PAGE, offset=offset)
    values = {"error": None, "values": {}, **extra}
    return render(
        request,
        "tenants.html",
        status,
        items=items,
        total=total,
        offset=offset,
        page_size=TENANTS_PAGE,
        **values,
    )


@router.get("/tenants", response_class=HTMLResponse)
async def tenant_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require_platform_admin()
    return await _tenants_page(request, session)


@router.post("/tenants", response_class=HTMLResponse)
async def create_tenant(
    request: Request, admin: Admin, session: SessionDep, services: ServicesDep
) -> Response:
    admin.require_platform_admin()
    form = await read_form(request)
    values = {
        "name": text(form, "name"),
        "slug": optional(form, "slug"),
        "default_language": optional(form, "default_language"),
    }
    try:
        data = TenantCreate.model_validate(values)
    except ValidationError as exc:
        return await _tenants_page(request, session, 422, error=problems(exc), values=values)
    tenant, _ = await tenants.create_tenant(session, data, default_locale=services.settings.app.locale)
    await audit.record(
        session, actor=admin.label, action="tenant.created", tenant_id=tenant.id, target=tenant
    )
    return redirect(f"/admin/t/{tenant.slug}/", "flash.saved")
