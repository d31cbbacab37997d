"""What a request's `model` names: an assistant profile, a knowledge base, or the tenant's default.

default            the tenant's default profile (or the platform's instructions), default search
<profile name>     that profile, over its knowledge bases (the default search when it has none)
kb:<name or id>    the default profile, over that knowledge base only (a bare name or id works too)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.assistants import service as assistants
from chatbot_platform.chat.errors import AssistantModelNotFound
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import AssistantProfile

DEFAULT = "default"
KB_PREFIX = "kb:"


@dataclass(frozen=True)
class Profile:
    """The answering settings of a profile, detached from the session (None: the platform's)."""

    name: str | None = None
    system_prompt: str | None = None
    persona: str | None = None
    dont_know_messages: dict[str, Any] = field(default_factory=dict)
    chat_model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_sources: int | None = None
    min_citations: int | None = None
    min_confidence: float | None = None
    force_if_has_citations: bool | None = None

    @classmethod
    def of(cls, row: AssistantProfile | None) -> Profile:
        if row is None:
            return cls()
        return cls(
            name=row.name,
            system_prompt=row.system_prompt,
            persona=row.persona,
            dont_know_messages=dict(row.dont_know_messages or {}),
            chat_model=row.chat_model,
            temperature=row.temperature,
            max_tokens=row.max_tokens,
            max_sources=row.max_sources,
            min_citations=row.min_citations,
            min_confidence=row.min_confidence,
            force_if_has_citations=row.force_if_has_citations,
        )


@dataclass(frozen=True)
class Target:
    profile: Profile
    knowledge_base_ids: list[uuid.UUID] | None  # None: the tenant's default search


async def resolve(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> Target:
    if name == DEFAULT:
        return await _default(session, tenant_id, None)
    if name.startswith(KB_PREFIX):
        kb = await knowledge.find(session, tenant_id, name.removeprefix(KB_PREFIX))
        if kb is None:
            raise AssistantModelNotFound(name)
        return await _default(session, tenant_id, [kb.id])
    row = await assistants.get_by_name(session, tenant_id, name)
    if row is not None:
        return Target(Profile.of(row), list(row.knowledge_base_ids) or None)
    kb = await knowledge.find(session, tenant_id, name)
    if kb is not None:
        return await _default(session, tenant_id, [kb.id])
    raise AssistantModelNotFound(name)


async def _default(session: AsyncSession, tenant_id: uuid.UUID, kb_ids: list[uuid.UUID] | None) -> Target:
    row = await assistants.get_default(session, tenant_id)
    if kb_ids is None and row is not None:
        kb_ids = list(row.knowledge_base_ids) or None
    return Target(Profile.of(row), kb_ids)
