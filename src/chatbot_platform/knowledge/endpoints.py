"""Knowledge bases of the calling tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.knowledge import service
from chatbot_platform.knowledge.schemas import KnowledgeBase, KnowledgeBaseCreate, KnowledgeBaseUpdate
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/knowledge-bases", tags=["knowledge bases"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.KNOWLEDGE_BASES_READ))]
Writer = Annotated[ApiKeyContext, Depends(require_scope(Scope.KNOWLEDGE_BASES_WRITE))]


@router.get("", response_model=Page[KnowledgeBase])
async def list_knowledge_bases(session: SessionDep, ctx: Reader, page: PageDep) -> Page[KnowledgeBase]:
    items, total = await service.list_(session, ctx.tenant_id, limit=page.limit, offset=page.offset)
    return Page(
        items=[KnowledgeBase.model_validate(kb) for kb in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KnowledgeBase)
async def create_knowledge_base(
    data: KnowledgeBaseCreate, session: SessionDep, ctx: Writer, request: Request
) -> KnowledgeBase:
    tenant = await tenants.get_tenant_or_raise(session, ctx.tenant_id)
    kb = await service.create(session, ctx.tenant_id, data, default_locale=tenant.default_language)
    await audit.record_tenant_action(session, ctx, request, "knowledge_base.created", kb)
    return KnowledgeBase.model_validate(kb)


@router.get("/{kb_id}", response_model=KnowledgeBase)
async def get_knowledge_base(kb_id: uuid.UUID, session: SessionDep, ctx: Reader) -> KnowledgeBase:
    return KnowledgeBase.model_validate(await service.get_or_raise(session, ctx.tenant_id, kb_id))


@router.patch("/{kb_id}", response_model=KnowledgeBase)
async def update_knowledge_base(
    kb_id: uuid.UUID, data: KnowledgeBaseUpdate, session: SessionDep, ctx: Writer, request: Request
) -> KnowledgeBase:
    kb = await service.update(session, ctx.tenant_id, kb_id, data)
    await audit.record_tenant_action(
        session, ctx, request, "knowledge_base.updated", kb, details=data.model_dump(exclude_unset=True)
    )
    return KnowledgeBase.model_validate(kb)


@router.delete("/{kb_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_knowledge_base(
    kb_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request
) -> Response:
    """Delete a knowledge base with its documents and chunks."""
    kb = await service.delete(session, ctx.tenant_id, kb_id)
    await audit.record_tenant_action(
        session, ctx, request, "knowledge_base.deleted", kb, details={"name": kb.name}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
