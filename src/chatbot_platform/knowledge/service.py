"""Knowledge bases of one tenant."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.knowledge.errors import (
    DefaultKnowledgeBaseRequired,
    KnowledgeBaseNameTaken,
    KnowledgeBaseNotFound,
    UnknownLanguage,
)
from chatbot_platform.knowledge.repository import KnowledgeBaseRepo, text_search_configs
from chatbot_platform.knowledge.schemas import KnowledgeBaseCreate, KnowledgeBaseUpdate
from chatbot_platform.models import KnowledgeBase
from chatbot_platform.retrieval.stores.fulltext import reindex_language

LOCALE_LANGUAGES = {"it": "italian", "en": "english"}
DEFAULT_NAME = "Default"


def language_for_locale(locale: str) -> str:
    return LOCALE_LANGUAGES.get(locale, "simple")


async def validate_language(session: AsyncSession, language: str) -> str:
    available = await text_search_configs(session)
    if language not in available:
        raise UnknownLanguage(language, available)
    return language


async def create(
    session: AsyncSession, tenant_id: uuid.UUID, data: KnowledgeBaseCreate, *, default_locale: str
) -> KnowledgeBase:
    repo = KnowledgeBaseRepo(session, tenant_id)
    language = await validate_language(session, data.language or language_for_locale(default_locale))
    is_first = await repo.count() == 0
    kb = KnowledgeBase(
        name=data.name,
        description=data.description,
        language=language,
        is_default=is_first,
        settings=data.settings.model_dump(exclude_none=True),
    )
    return await repo.add(kb, conflict=KnowledgeBaseNameTaken(data.name))


async def create_default(session: AsyncSession, tenant_id: uuid.UUID, locale: str) -> KnowledgeBase:
    return await create(session, tenant_id, KnowledgeBaseCreate(name=DEFAULT_NAME), default_locale=locale)


async def list_(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[KnowledgeBase], int]:
    repo = KnowledgeBaseRepo(session, tenant_id)
    items = await repo.list(
        order_by=[KnowledgeBase.created_at, KnowledgeBase.name], limit=limit, offset=offset
    )
    return items, await repo.count()


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, kb_id: uuid.UUID) -> KnowledgeBase:
    kb = await KnowledgeBaseRepo(session, tenant_id).get(kb_id)
    if kb is None:
        raise KnowledgeBaseNotFound()
    return kb


async def find(session: AsyncSession, tenant_id: uuid.UUID, ref: str) -> KnowledgeBase | None:
    """The tenant's knowledge base whose id or name is `ref`."""
    repo = KnowledgeBaseRepo(session, tenant_id)
    try:
        return await repo.get(uuid.UUID(ref))
    except ValueError:
        return await repo.first(KnowledgeBase.name == ref)


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, kb_id: uuid.UUID, data: KnowledgeBaseUpdate
) -> KnowledgeBase:
    repo = KnowledgeBaseRepo(session, tenant_id)
    kb = await get_or_raise(session, tenant_id, kb_id)
    if data.language is not None and data.language != kb.language:
        kb.language = await validate_language(session, data.language)
        await reindex_language(session, tenant_id=tenant_id, knowledge_base_id=kb.id, language=kb.language)
    if data.settings is not None:
        kb.settings = data.settings.model_dump(exclude_none=True)
    if data.name is not None:
        kb.name = data.name
    if data.description is not None:
        kb.description = data.description
    if data.is_default is True and not kb.is_default:
        await repo.clear_default()
        kb.is_default = True
    elif data.is_default is False and kb.is_default:
        raise DefaultKnowledgeBaseRequired()
    return await repo.save(kb, conflict=KnowledgeBaseNameTaken(kb.name))


async def delete(session: AsyncSession, tenant_id: uuid.UUID, kb_id: uuid.UUID) -> KnowledgeBase:
    kb = await get_or_raise(session, tenant_id, kb_id)
    if kb.is_default:
        raise DefaultKnowledgeBaseRequired()
    await KnowledgeBaseRepo(session, tenant_id).delete(kb)
    return kb
