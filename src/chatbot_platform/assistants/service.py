"""Assistant profiles of one tenant. Services never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.assistants.errors import AssistantNameTaken, AssistantNotFound
from chatbot_platform.assistants.repository import AssistantRepo
from chatbot_platform.assistants.schemas import AssistantCreate, AssistantUpdate
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import AssistantProfile


async def create(session: AsyncSession, tenant_id: uuid.UUID, data: AssistantCreate) -> AssistantProfile:
    repo = AssistantRepo(session, tenant_id)
    await _check_knowledge_bases(session, tenant_id, data.knowledge_base_ids or [])
    if data.is_default:
        await repo.clear_default()
    values = data.model_dump(exclude_none=True)
    profile = AssistantProfile(
        **{"description": "", "dont_know_messages": {}, "knowledge_base_ids": [], **values}
    )
    return await repo.add(profile, conflict=AssistantNameTaken(data.name))


async def list_(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int | None = None, offset: int = 0
) -> tuple[list[AssistantProfile], int]:
    repo = AssistantRepo(session, tenant_id)
    items = await repo.list(order_by=[AssistantProfile.name], limit=limit, offset=offset)
    return items, await repo.count()


async def get_or_raise(
    session: AsyncSession, tenant_id: uuid.UUID, profile_id: uuid.UUID
) -> AssistantProfile:
    profile = await AssistantRepo(session, tenant_id).get(profile_id)
    if profile is None:
        raise AssistantNotFound()
    return profile


async def get_by_name(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> AssistantProfile | None:
    return await AssistantRepo(session, tenant_id).get_by_name(name)


async def get_default(session: AsyncSession, tenant_id: uuid.UUID) -> AssistantProfile | None:
    return await AssistantRepo(session, tenant_id).get_default()


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, profile_id: uuid.UUID, data: AssistantUpdate
) -> AssistantProfile:
    """Set the fields given; an explicit null clears a field back to the platform's default."""
    repo = AssistantRepo(session, tenant_id)
    profile = await get_or_raise(session, tenant_id, profile_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("knowledge_base_ids"):
        await _check_knowledge_bases(session, tenant_id, changes["knowledge_base_ids"])
    if changes.get("is_default") and not profile.is_default:
        await repo.clear_default()
    empty = {"description": "", "dont_know_messages": {}, "knowledge_base_ids": [], "is_default": False}
    for field, value in changes.items():
        if value is None and field in {"name", *empty}:
            value = empty.get(field, getattr(profile, field))
        setattr(profile, field, value)
    return await repo.save(profile, conflict=AssistantNameTaken(profile.name))


async def delete(session: AsyncSession, tenant_id: uuid.UUID, profile_id: uuid.UUID) -> AssistantProfile:
    profile = await get_or_raise(session, tenant_id, profile_id)
    await AssistantRepo(session, tenant_id).delete(profile)
    return profile


async def _check_knowledge_bases(
    session: AsyncSession, tenant_id: uuid.UUID, kb_ids: Sequence[uuid.UUID]
) -> None:
    """Every id must be one of the tenant's knowledge bases (another tenant's is a 404)."""
    for kb_id in set(kb_ids):
        await knowledge.get_or_raise(session, tenant_id, kb_id)
