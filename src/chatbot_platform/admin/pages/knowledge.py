"""Knowledge bases: name, language, description and retrieval overrides."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import problems, read_form, text
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.knowledge.schemas import KnowledgeBaseCreate, KnowledgeBaseUpdate
from chatbot_platform.models import KnowledgeBase

router = APIRouter(prefix="/t/{slug}/knowledge-bases")
# The overrides offered in the form: (field, kind); unset fields inherit the RAG_* settings.
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("chunk_max_chars", "int"),
    ("chunk_overlap_chars", "int"),
    ("vector_top_k", "int"),
    ("bm25_top_k", "int"),
    ("rrf_k", "int"),
    ("mmr_lambda", "float"),
    ("neighbor_radius", "int"),
    ("hybrid", "bool"),
    ("reranker", "bool"),
    ("multiquery", "bool"),
)
LANGUAGES = ("italian", "english", "simple")


def overrides_from(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in OVERRIDES:
        raw = text(form, f"s_{name}")
        if raw == "":
            continue
        values[name] = raw == "true" if kind == "bool" else raw
    return values


def _fields(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name"),
        "description": text(form, "description"),
        "language": text(form, "language") or None,
        "settings": overrides_from(form),
    }


async def _list_page(
    request: Request, admin: AdminContext, session: SessionDep, status: int = 200, **extra: Any
) -> Response:
    items, _ = await knowledge.list_(session, admin.tenant_id, limit=200, offset=0)
    values = {"error": None, "values": {}, **extra}
    return render(
        request, "knowledge.html", status, items=items, overrides=OVERRIDES, languages=LANGUAGES, **values
    )


@router.get("", response_class=HTMLResponse)
async def kb_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _list_page(request, admin, session)


@router.post("", response_class=HTMLResponse)
async def create(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    values = _fields(await read_form(request))
    try:
        data = KnowledgeBaseCreate.model_validate(values)
        async with session.begin_nested():
            kb = await knowledge.create(
                session, admin.tenant_id, data, default_locale=admin.current_tenant.default_language
            )
    except ValidationError as exc:
        return await _list_page(request, admin, session, 422, error=problems(exc), values=values)
    except AppError as exc:
        return await _list_page(request, admin, session, exc.status_code, error=exc.message, values=values)
    await audit.record(
        session, actor=admin.label, action="knowledge_base.created", tenant_id=admin.tenant_id, target=kb
    )
    return redirect(tenant_url(admin, f"/knowledge-bases/{kb.id}"), "knowledge.created")


async def _edit_page(
    request: Request, kb: KnowledgeBase, status: int = 200, error: str | None = None
) -> Response:
    return render(
        request, "knowledge_edit.html", status, kb=kb, overrides=OVERRIDES, languages=LANGUAGES, error=error
    )


@router.get("/{kb_id}", response_class=HTMLResponse)
async def edit_form(kb_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _edit_page(request, await knowledge.get_or_raise(session, admin.tenant_id, kb_id))


@router.post("/{kb_id}", response_class=HTMLResponse)
async def update(kb_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    kb = await knowledge.get_or_raise(session, admin.tenant_id, kb_id)
    values = _fields(await read_form(request))
    try:
        data = KnowledgeBaseUpdate.model_validate(values)
        async with session.begin_nested():
            kb = await knowledge.update(session, admin.tenant_id, kb_id, data)
    except ValidationError as exc:
        return await _edit_page(request, kb, 422, problems(exc))
    except AppError as exc:
        return await _edit_page(request, kb, exc.status_code, exc.message)
    await audit.record(
        session, actor=admin.label, action="knowledge_base.updated", tenant_id=admin.tenant_id, target=kb
    )
    return redirect(tenant_url(admin, f"/knowledge-bases/{kb.id}"), "knowledge.saved")


@router.post("/{kb_id}/delete")
async def delete(kb_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    try:
        async with session.begin_nested():
            kb = await knowledge.delete(session, admin.tenant_id, kb_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        kb = await knowledge.get_or_raise(session, admin.tenant_id, kb_id)
        return await _edit_page(request, kb, exc.status_code, exc.message)
    await audit.record(
        session,
        actor=admin.label,
        action="knowledge_base.deleted",
        tenant_id=admin.tenant_id,
        target=kb,
        details={"name": kb.name},
    )
    return redirect(tenant_url(admin, "/knowledge-bases"), "flash.deleted")
