"""The tenant's widget settings and publishable keys (tenant API key; `assistants:*` scopes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope
from chatbot_platform.widget import service
from chatbot_platform.widget.schemas import (
    Feedback,
    WidgetConfig,
    WidgetConfigUpdate,
    WidgetKey,
    WidgetKeyCreate,
    WidgetKeyCreated,
)

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])
# The widget is how the tenant's assistants meet visitors: it shares the assistants' scopes.
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_READ))]
Writer = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_WRITE))]


@router.get("/config", response_model=WidgetConfig)
async def get_widget_config(session: SessionDep, ctx: Reader) -> WidgetConfig:
    """Allowed origins, answering assistant, conversation lifetime and theme."""
    return await service.get_config(session, ctx.tenant_id)


@router.patch("/config", response_model=WidgetConfig)
async def update_widget_config(
    data: WidgetConfigUpdate, session: SessionDep, ctx: Writer, request: Request
) -> WidgetConfig:
    """Change the fields given (`theme` is replaced whole)."""
    config = await service.update_config(session, ctx.tenant_id, data)
    await audit.record_tenant_action(
        session, ctx, request, "widget.config_updated", None, details=data.model_dump(exclude_unset=True)
    )
    return config


@router.get("/keys", response_model=list[WidgetKey])
async def list_widget_keys(session: SessionDep, ctx: Reader) -> list[WidgetKey]:
    """Publishable keys (prefix, last use, revocation), never the key itself."""
    return [WidgetKey.model_validate(k) for k in await service.list_keys(session, ctx.tenant_id)]


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=WidgetKeyCreated)
async def issue_widget_key(
    data: WidgetKeyCreate, session: SessionDep, ctx: Writer, request: Request
) -> WidgetKeyCreated:
    """A publishable key (`pk_…`) for the embed tag; shown only in this response."""
    issued = await service.issue_key(session, ctx.tenant_id, data)
    await audit.record_tenant_action(session, ctx, request, "widget.key_issued", issued.widget_key)
    return WidgetKeyCreated(**WidgetKey.model_validate(issued.widget_key).model_dump(), key=issued.secret)


@router.delete("/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_widget_key(
    key_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request
) -> Response:
    """Revoke: new sessions are refused and live sessions stop at their next call."""
    key = await service.revoke_key(session, ctx.tenant_id, key_id)
    await audit.record_tenant_action(session, ctx, request, "widget.key_revoked", key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/feedback", response_model=Page[Feedback])
async def list_widget_feedback(session: SessionDep, ctx: Reader, page: PageDep) -> Page[Feedback]:
    """Visitors' ratings of answers, newest first."""
    items, total = await service.list_feedback(session, ctx.tenant_id, limit=page.limit, offset=page.offset)
    return Page(
        items=[Feedback.model_validate(f) for f in items], total=total, limit=page.limit, offset=page.offset
    )
