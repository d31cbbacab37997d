from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import KnowledgeBase


class KnowledgeBaseRepo(TenantRepository[KnowledgeBase]):
    model = KnowledgeBase

    async def get_default(self) -> KnowledgeBase | None:
        return await self.first(KnowledgeBase.is_default.is_(True))

    async def clear_default(self) -> None:
        await self.update_where({"is_default": False}, KnowledgeBase.is_default.is_(True))


async def text_search_configs(session: AsyncSession) -> list[str]:
    rows = await session.scalars(text("SELECT cfgname FROM pg_catalog.pg_ts_config ORDER BY cfgname"))
    return list(rows)
