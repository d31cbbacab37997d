from __future__ import annotations

import uuid
from datetime import datetime

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import (
    DeskCannedReply,
    DeskForm,
    DeskFormSubmission,
    DeskHandoff,
    DeskOperator,
    DeskSettings,
)
from chatbot_platform.models.desk_handoff import OPEN_STATUSES


class DeskSettingsRepo(TenantRepository[DeskSettings]):
    model = DeskSettings

    async def current(self) -> DeskSettings | None:
        return await self.first()


class OperatorRepo(TenantRepository[DeskOperator]):
    model = DeskOperator

    async def by_name(self, name: str) -> DeskOperator | None:
        return await self.first(DeskOperator.name == name)

    async def present_since(self, since: datetime) -> list[DeskOperator]:
        return await self.list(DeskOperator.last_seen_at >= since, order_by=[DeskOperator.name])


class HandoffRepo(TenantRepository[DeskHandoff]):
    model = DeskHandoff

    async def open_for(self, conversation_id: uuid.UUID) -> DeskHandoff | None:
        return await self.first(
            DeskHandoff.conversation_id == conversation_id, DeskHandoff.status.in_(list(OPEN_STATUSES))
        )

    async def latest_for(self, conversation_id: uuid.UUID) -> DeskHandoff | None:
        found = await self.list(
            DeskHandoff.conversation_id == conversation_id,
            order_by=[DeskHandoff.requested_at.desc()],
            limit=1,
        )
        return found[0] if found else None


class CannedReplyRepo(TenantRepository[DeskCannedReply]):
    model = DeskCannedReply


class FormRepo(TenantRepository[DeskForm]):
    model = DeskForm


class SubmissionRepo(TenantRepository[DeskFormSubmission]):
    model = DeskFormSubmission
