from __future__ import annotations

from chatbot_platform.kit.errors import NotFound


class ConversationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Conversation not found.")
