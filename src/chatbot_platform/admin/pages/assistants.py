"""Assistant profiles: system prompt, persona, "I don't know" messages, the default profile."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from chatbot_platform.admin.auth import Admin, Permission
from chatbot_platform.admin.forms import checked, problems, read_form, text
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.assistants import service as assistants
from chatbot_platform.assistants.schemas import AssistantCreate, AssistantUpdate
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.models import AssistantProfile

router = APIRouter(prefix="/t/{slug}/assistants")


def _fields(form: FormData) -> dict[str, Any]:
    dont_know = {lang: text(form, f"dont_know_{lang}") for lang in ("it", "en")}
    return {
        "name": text(form, "name"),
        "description": text(form, "description"),
        "system_prompt": text(form, "system_prompt") or None,
        "persona": text(form, "persona") or None,
        "dont_know_messages": {k: v for k, v in dont_know.items() if v},
        "is_default": checked(form, "is_default"),
    }


def _values(profile: AssistantProfile | None) -> dict[str, Any]:
    if profile is None:
        return {
            "name": "",
            "description": "",
            "system_prompt": "",
            "persona": "",
            "dont_know_messages": {},
            "is_default": False,
        }
    return {
        "name": profile.name,
        "description": profile.description,
        "system_prompt": profile.system_prompt or "",
        "persona": profile.persona or "",
        "dont_know_messages": profile.dont_know_messages,
        "is_default": profile.is_default,
    }


@router.get("", response_class=HTMLResponse)
async def assistant_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    items, _ = await assistants.list_(session, admin.tenant_id)
    return render(request, "assistants.html", items=items)


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, admin: Admin) -> Response:
    admin.require(Permission.VIEW)
    return render(request, "assistant_edit.html", profile=None, values=_values(None), error=None)


@router.post("/new", response_class=HTMLResponse)
async def create(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    values = _fields(await read_form(request))
    try:
        data = AssistantCreate.model_validate(values)
        async with session.begin_nested():
            profile = await assistants.create(session, admin.tenant_id, data)
    except ValidationError as exc:
        return render(request, "assistant_edit.html", 422, profile=None, values=values, error=problems(exc))
    except AppError as exc:
        return render(
            request, "assistant_edit.html", exc.status_code, profile=None, values=values, error=exc.message
        )
    await audit.record(
        session, actor=admin.label, action="assistant.created", tenant_id=admin.tenant_id, target=profile
    )
    return redirect(tenant_url(admin, "/assistants"), "flash.saved")


@router.get("/{profile_id}", response_class=HTMLResponse)
async def edit_form(profile_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    profile = await assistants.get_or_raise(session, admin.tenant_id, profile_id)
    return render(request, "assistant_edit.html", profile=profile, values=_values(profile), error=None)


@router.post("/{profile_id}", response_class=HTMLResponse)
async def update(profile_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    profile = await assistants.get_or_raise(session, admin.tenant_id, profile_id)
    values = _fields(await read_form(request))
    try:
        data = AssistantUpdate.model_validate(values)
        async with session.begin_nested():
            profile = await assistants.update(session, admin.tenant_id, profile_id, data)
    except ValidationError as exc:
        return render(
            request, "assistant_edit.html", 422, profile=profile, values=values, error=problems(exc)
        )
    except AppError as exc:
        return render(
            request, "assistant_edit.html", exc.status_code, profile=profile, values=values, error=exc.message
        )
    await audit.record(
        session, actor=admin.label, action="assistant.updated", tenant_id=admin.tenant_id, target=profile
    )
    return redirect(tenant_url(admin, "/assistants"), "flash.saved")


@router.post("/{profile_id}/delete")
async def delete(profile_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    profile = await assistants.delete(session, admin.tenant_id, profile_id)
    await audit.record(
        session, actor=admin.label, action="assistant.deleted", tenant_id=admin.tenant_id, target=profile
    )
    return redirect(tenant_url(admin, "/assistants"), "flash.deleted")
