from __future__ import annotations

import uuid
from collections.abc import Sequence

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import WidgetConfig, WidgetEvent, WidgetFeedback, WidgetKey


class WidgetKeyRepo(TenantRepository[WidgetKey]):
    model = WidgetKey


class WidgetConfigRepo(TenantRepository[WidgetConfig]):
    model = WidgetConfig

    async def current(self) -> WidgetConfig | None:
        return await self.first()


class WidgetFeedbackRepo(TenantRepository[WidgetFeedback]):
    model = WidgetFeedback

    async def of_visitor(self, message_id: uuid.UUID, visitor_id: str) -> WidgetFeedback | None:
        return await self.first(
            WidgetFeedback.message_id == message_id, WidgetFeedback.visitor_id == visitor_id
        )

    async def ratings(self, message_ids: Sequence[uuid.UUID], visitor_id: str) -> dict[uuid.UUID, int]:
        if not message_ids:
            return {}
        rows = await self.values(
            WidgetFeedback.message_id,
            WidgetFeedback.rating,
            where=[WidgetFeedback.message_id.in_(message_ids), WidgetFeedback.visitor_id == visitor_id],
        )
        ratings: dict[uuid.UUID, int] = {}
        for row in rows:
            message_id, rating = tuple(row)
            ratings[message_id] = rating
        return ratings


class WidgetEventRepo(TenantRepository[WidgetEvent]):
    model = WidgetEvent
