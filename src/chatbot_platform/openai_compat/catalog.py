"""The models a tenant's key may name: `default`, its assistant profiles, its knowledge bases and its
embedding model."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.assistants import service as assistants
from chatbot_platform.chat.errors import AssistantModelNotFound
from chatbot_platform.chat.targets import DEFAULT, KB_PREFIX
from chatbot_platform.embeddings.tenant import active_model
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.openai_compat.schemas import Model
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAX_KNOWLEDGE_BASES = 1000


async def models(services: Services, session: AsyncSession, tenant_id: uuid.UUID) -> list[Model]:
    tenant = await tenants.get_tenant_or_raise(session, tenant_id)
    owner = tenant.slug
    created = int(tenant.created_at.timestamp())
    profiles, _ = await assistants.list_(session, tenant_id)
    kbs, _ = await knowledge.list_(session, tenant_id, limit=MAX_KNOWLEDGE_BASES, offset=0)
    default = next((p for p in profiles if p.is_default), None)
    listed = [
        Model(
            id=DEFAULT,
            created=created,
            owned_by=owner,
            kind="assistant",
            description=f"The default assistant ({default.name})" if default else "The default assistant",
        )
    ]
    listed += [
        Model(
            id=p.name,
            created=int(p.created_at.timestamp()),
            owned_by=owner,
            kind="assistant",
            description=p.description,
        )
        for p in profiles
    ]
    listed += [
        Model(
            id=f"{KB_PREFIX}{kb.name}",
            created=int(kb.created_at.timestamp()),
            owned_by=owner,
            kind="knowledge_base",
            description=kb.description or f"Answers from the knowledge base {kb.name!r} only",
        )
        for kb in kbs
    ]
    listed.append(
        Model(
            id=active_model(services, tenant),
            created=created,
            owned_by=owner,
            kind="embedding",
            description="The embedding model of POST /v1/embeddings",
        )
    )
    return listed


async def model_or_raise(
    services: Services, session: AsyncSession, tenant_id: uuid.UUID, model_id: str
) -> Model:
    for model in await models(services, session, tenant_id):
        if model.id == model_id:
            return model
    raise AssistantModelNotFound(model_id)
