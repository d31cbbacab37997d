from __future__ import annotations

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import Conversation, ConversationMessage


class ConversationRepo(TenantRepository[Conversation]):
    model = Conversation

    async def get_by_external_id(self, external_id: str) -> Conversation | None:
        return await self.first(Conversation.external_id == external_id)


class MessageRepo(TenantRepository[ConversationMessage]):
    model = ConversationMessage

    async def latest(self, conversation: Conversation, limit: int) -> list[ConversationMessage]:
        """The last `limit` messages, oldest first."""
        newest_first = await self.list(
            ConversationMessage.conversation_id == conversation.id,
            order_by=[ConversationMessage.created_at.desc(), ConversationMessage.id.desc()],
            limit=limit,
        )
        return newest_first[::-1]
