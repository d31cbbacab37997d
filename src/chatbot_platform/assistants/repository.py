from __future__ import annotations

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import AssistantProfile


class AssistantRepo(TenantRepository[AssistantProfile]):
    model = AssistantProfile

    async def get_by_name(self, name: str) -> AssistantProfile | None:
        return await self.first(AssistantProfile.name == name)

    async def get_default(self) -> AssistantProfile | None:
        return await self.first(AssistantProfile.is_default.is_(True))

    async def clear_default(self) -> None:
        await self.update_where({"is_default": False}, AssistantProfile.is_default.is_(True))
