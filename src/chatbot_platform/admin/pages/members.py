"""Users and roles of a tenant: invite by e-mail, change a role, remove a member."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from chatbot_platform.admin import mail, service
from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.errors import NotAllowed
from chatbot_platform.admin.forms import problems, read_form, text
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.models import Role
from chatbot_platform.runtime import ServicesDep

router = APIRouter(prefix="/t/{slug}/members")
_email = TypeAdapter(EmailStr)


def _role(value: str, admin: AdminContext) -> Role:
    try:
        role = Role(value)
    except ValueError:
        raise NotAllowed() from None
    if role == Role.OWNER and not (admin.is_platform_admin or admin.role == Role.OWNER):
        raise NotAllowed()  # only an owner makes owners
    return role


async def _page(
    request: Request, admin: AdminContext, session: SessionDep, status: int = 200, **extra: object
) -> Response:
    members = await service.members(session, admin.tenant_id)
    values = {"error": None, "message": None, **extra}
    return render(request, "members.html", status, members=members, roles=list(Role), **values)


@router.get("", response_class=HTMLResponse)
async def member_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session)


@router.post("", response_class=HTMLResponse)
async def invite(
    request: Request, admin: Admin, session: SessionDep, services: ServicesDep, background: BackgroundTasks
) -> Response:
    admin.require(Permission.MANAGE_MEMBERS)
    form = await read_form(request)
    role = _role(text(form, "role"), admin)
    try:
        email = str(_email.validate_python(text(form, "email")))
    except ValidationError as exc:
        return await _page(request, admin, session, 422, error=problems(exc))
    try:
        async with session.begin_nested():
            invited = await service.invite(session, admin.tenant_id, email, role)
    except AppError as exc:
        return await _page(request, admin, session, exc.status_code, error=exc.message)
    settings, tenant = services.settings, admin.current_tenant
    locale = admin.locale
    role_name = translate(locale, f"role.{role.value}")
    base = settings.app.url.rstrip("/")
    if invited.token is not None:
        body = translate(
            locale,
            "mail.invite.body",
            tenant=tenant.name,
            role=role_name,
            link=f"{base}/admin/invitations/{invited.token}",
        )
    else:
        body = translate(
            locale,
            "mail.added.body",
            tenant=tenant.name,
            role=role_name,
            link=f"{base}/admin/t/{tenant.slug}/",
        )
    subject = translate(locale, "mail.invite.subject", tenant=tenant.name, app=settings.app.name)
    background.add_task(mail.send, settings, email, subject, body)
    await audit.record(
        session,
        actor=admin.label,
        action="user.invited",
        tenant_id=admin.tenant_id,
        target=invited.user,
        details={"role": role.value},
    )
    key = "invite.sent" if invited.token is not None else "invite.added"
    return await _page(request, admin, session, message=translate(locale, key, email=email))


@router.post("/{membership_id}/role")
async def change_role(
    membership_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep
) -> Response:
    admin.require(Permission.MANAGE_MEMBERS)
    form = await read_form(request)
    role = _role(text(form, "role"), admin)
    current = await service.get_member(session, admin.tenant_id, membership_id)
    if current.role == Role.OWNER and not (admin.is_platform_admin or admin.role == Role.OWNER):
        raise NotAllowed()
    membership = await service.change_role(session, admin.tenant_id, membership_id, role)
    await audit.record(
        session,
        actor=admin.label,
        action="user.role_changed",
        tenant_id=admin.tenant_id,
        target=membership,
        details={"role": role.value},
    )
    return redirect(tenant_url(admin, "/members"), "flash.saved")


@router.post("/{membership_id}/delete")
async def remove(membership_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.MANAGE_MEMBERS)
    current = await service.get_member(session, admin.tenant_id, membership_id)
    if current.role == Role.OWNER and not (admin.is_platform_admin or admin.role == Role.OWNER):
        raise NotAllowed()
    membership = await service.remove_member(session, admin.tenant_id, membership_id)
    await audit.record(
        session, actor=admin.label, action="user.removed", tenant_id=admin.tenant_id, target=membership
    )
    return redirect(tenant_url(admin, "/members"), "flash.deleted")
