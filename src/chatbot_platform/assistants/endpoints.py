"""Assistant profiles of the calling tenant; each is a model of the OpenAI-compatible API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from chatbot_platform.assistants import service
from chatbot_platform.assistants.schemas import Assistant, AssistantCreate, AssistantUpdate
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/assistants", tags=["assistants"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_READ))]
Writer = Annotated[ApiKeyContext, Depends(require_scope(Scope.ASSISTANTS_WRITE))]


@router.get("", response_model=Page[Assistant])
async def list_assistants(session: SessionDep, ctx: Reader, page: PageDep) -> Page[Assistant]:
    items, total = await service.list_(session, ctx.tenant_id, limit=page.limit, offset=page.offset)
    return Page(
        items=[Assistant.model_validate(p) for p in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Assistant)
async def create_assistant(
    data: AssistantCreate, session: SessionDep, ctx: Writer, request: Request
) -> Assistant:
    profile = await service.create(session, ctx.tenant_id, data)
    await audit.record_tenant_action(session, ctx, request, "assistant.created", profile)
    return Assistant.model_validate(profile)


@router.get("/{assistant_id}", response_model=Assistant)
async def get_assistant(assistant_id: uuid.UUID, session: SessionDep, ctx: Reader) -> Assistant:
    return Assistant.model_validate(await service.get_or_raise(session, ctx.tenant_id, assistant_id))


@router.patch("/{assistant_id}", response_model=Assistant)
async def update_assistant(
    assistant_id: uuid.UUID, data: AssistantUpdate, session: SessionDep, ctx: Writer, request: Request
) -> Assistant:
    profile = await service.update(session, ctx.tenant_id, assistant_id, data)
    await audit.record_tenant_action(
        session,
        ctx,
        request,
        "assistant.updated",
        profile,
        details=data.model_dump(mode="json", exclude_unset=True),
    )
    return Assistant.model_validate(profile)


@router.delete("/{assistant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_assistant(
    assistant_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request
) -> Response:
    profile = await service.delete(session, ctx.tenant_id, assistant_id)
    await audit.record_tenant_action(
        session, ctx, request, "assistant.deleted", profile, details={"name": profile.name}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
