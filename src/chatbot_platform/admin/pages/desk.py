"""The operator console: the live queue, one conversation (the bot's answers with citations, the
visitor, the operator), take over / reply / release / close, canned replies and presence.

Everyone in the tenant may look; only owners, admins and operators (and platform admins) act —
the server refuses the others. The page works without JavaScript; desk.js keeps the queue and the
conversation live by polling `live.json` and sends the presence heartbeat.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.errors import NotAllowed
from chatbot_platform.admin.forms import optional, problems, read_form, text
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.desk import canned, handoff
from chatbot_platform.desk.schemas import CannedReplyCreate, HandoffUpdate, OperatorReply
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.models import ConversationMessage, DeskHandoff, HandoffStatus, Role

router = APIRouter(prefix="/t/{slug}/desk")
ACTING_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.OPERATOR})
QUEUE_LIMIT = 100
SHOWN_STATUSES = [HandoffStatus.QUEUED.value, HandoffStatus.ACTIVE.value]


def can_act(admin: AdminContext) -> bool:
    return admin.is_platform_admin or admin.role in ACTING_ROLES


def _require_operator(admin: AdminContext) -> None:
    if not can_act(admin):
        raise NotAllowed()


def operator_name(admin: AdminContext) -> str:
    """The name the visitor sees ("Giulia is with you"): the user's name, never their e-mail."""
    return admin.user.name or admin.user.email.split("@")[0]


def _queue_item(admin: AdminContext, row: DeskHandoff, external_id: str) -> dict[str, Any]:
    item = handoff.view(row, external_id)
    return {
        "id": str(item.id),
        "conversation_id": item.conversation_id,
        "status": item.status,
        "status_label": translate(admin.locale, f"desk.status.{item.status}"),
        "priority": item.priority,
        "operator": item.operator,
        "wait_seconds": int(item.wait_seconds or 0),
        "url": tenant_url(admin, f"/desk/{item.id}"),
    }


def _message(admin: AdminContext, message: ConversationMessage) -> dict[str, Any]:
    citations = [
        {"title": str(c.get("title") or c.get("url") or ""), "url": str(c.get("url") or "")}
        for c in message.citations or []
    ]
    return {
        "id": str(message.id),
        "role": message.role,
        "who": translate(admin.locale, f"desk.role.{message.role}"),
        "content": message.content,
        "citations": citations,
        "at": message.created_at.strftime("%H:%M"),
    }


async def _queue(session: SessionDep, admin: AdminContext) -> list[dict[str, Any]]:
    await handoff.expire_due(session, admin.tenant_id)
    rows, _ = await handoff.list_(
        session, admin.tenant_id, statuses=SHOWN_STATUSES, limit=QUEUE_LIMIT, offset=0
    )
    return [_queue_item(admin, row, external_id) for row, external_id in rows]


async def _conversation(
    session: SessionDep, admin: AdminContext, handoff_id: uuid.UUID
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = await handoff.get_or_raise(session, admin.tenant_id, handoff_id)  # another tenant's: 404
    conversation, messages = await handoff.transcript(session, admin.tenant_id, row)
    item = _queue_item(admin, row, conversation.external_id)
    item["mine"] = row.operator == operator_name(admin)
    return item, [_message(admin, m) for m in messages]


async def _page(
    request: Request,
    admin: AdminContext,
    session: SessionDep,
    handoff_id: uuid.UUID | None,
    status: int = 200,
    **extra: object,
) -> Response:
    queue = await _queue(session, admin)
    current: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = []
    if handoff_id is not None:
        current, messages = await _conversation(session, admin, handoff_id)
    availability = await handoff.availability_now(session, admin.tenant_id)
    values = {"error": None, "draft": "", **extra}
    return render(
        request,
        "desk_console.html",
        status,
        queue=queue,
        current=current,
        messages=messages,
        canned_replies=await canned.list_(session, admin.tenant_id),
        can_act=can_act(admin),
        present=operator_name(admin) in availability.operators_present,
        availability=availability,
        **values,
    )


@router.get("", response_class=HTMLResponse)
async def console(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session, None)


@router.get("/live.json")
async def live(admin: Admin, session: SessionDep, handoff_id: uuid.UUID | None = None) -> JSONResponse:
    """What desk.js polls every second: the queue, and the open conversation when one is given."""
    admin.require(Permission.VIEW)
    body: dict[str, Any] = {"queue": await _queue(session, admin), "current": None, "messages": []}
    if handoff_id is not None:
        body["current"], body["messages"] = await _conversation(session, admin, handoff_id)
    return JSONResponse(body)


@router.post("/presence")
async def presence(request: Request, admin: Admin, session: SessionDep) -> Response:
    """Available (a heartbeat; desk.js repeats it while the page is open) or away."""
    _require_operator(admin)
    form = await read_form(request)
    if text(form, "state") == "away":
        await handoff.away(session, admin.tenant_id, operator_name(admin))
    else:
        await handoff.heartbeat(session, admin.tenant_id, operator_name(admin))
    if "application/json" in request.headers.get("accept", ""):
        return Response(status_code=204)
    back = text(form, "back")
    return redirect(tenant_url(admin, "/desk" + (f"/{uuid.UUID(back)}" if _is_uuid(back) else "")))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@router.post("/canned")
async def create_canned(request: Request, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    form = await read_form(request)
    try:
        data = CannedReplyCreate(
            title=text(form, "title"), body=text(form, "body"), shortcut=optional(form, "shortcut")
        )
    except ValidationError as exc:
        return await _page(request, admin, session, None, 422, error=problems(exc))
    await canned.create(session, admin.tenant_id, data)
    return redirect(tenant_url(admin, "/desk"), "flash.saved")


@router.post("/canned/{reply_id}/delete")
async def delete_canned(reply_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    await canned.delete(session, admin.tenant_id, reply_id)
    return redirect(tenant_url(admin, "/desk"), "flash.deleted")


@router.get("/{handoff_id}", response_class=HTMLResponse)
async def conversation(
    handoff_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep
) -> Response:
    admin.require(Permission.VIEW)
    return await _page(request, admin, session, handoff_id)


@router.post("/{handoff_id}/take")
async def take(handoff_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    row = await handoff.take(session, admin.tenant_id, handoff_id, operator_name(admin))
    await audit.record(
        session, actor=admin.label, action="desk.handoff_taken", tenant_id=admin.tenant_id, target=row
    )
    return redirect(tenant_url(admin, f"/desk/{handoff_id}"))


@router.post("/{handoff_id}/reply")
async def reply(handoff_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    form = await read_form(request)
    try:
        data = OperatorReply(operator=operator_name(admin), text=text(form, "text"))
    except ValidationError as exc:
        return await _page(request, admin, session, handoff_id, 422, error=problems(exc))
    await handoff.reply(session, admin.tenant_id, handoff_id, data.operator, data.text)
    return redirect(tenant_url(admin, f"/desk/{handoff_id}"))


@router.post("/{handoff_id}/priority")
async def priority(handoff_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    """Move a queued or active request up or down the queue (0 to 10, higher first)."""
    _require_operator(admin)
    form = await read_form(request)
    try:
        data = HandoffUpdate.model_validate({"priority": text(form, "priority")})
    except ValidationError as exc:
        return await _page(request, admin, session, handoff_id, 422, error=problems(exc))
    await handoff.set_priority(session, admin.tenant_id, handoff_id, data.priority)
    return redirect(tenant_url(admin, f"/desk/{handoff_id}"), "flash.saved")


@router.post("/{handoff_id}/release")
async def release(handoff_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    row = await handoff.release(session, admin.tenant_id, handoff_id)
    await audit.record(
        session, actor=admin.label, action="desk.handoff_released", tenant_id=admin.tenant_id, target=row
    )
    return redirect(tenant_url(admin, "/desk"), "flash.desk_released")


@router.post("/{handoff_id}/close")
async def close(handoff_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    _require_operator(admin)
    row = await handoff.close(session, admin.tenant_id, handoff_id)
    await audit.record(
        session, actor=admin.label, action="desk.handoff_closed", tenant_id=admin.tenant_id, target=row
    )
    return redirect(tenant_url(admin, "/desk"), "flash.desk_closed")
