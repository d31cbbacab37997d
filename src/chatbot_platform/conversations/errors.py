from __future__ import annotations

from chatbot_platform.kit.errors import NotFound, Unprocessable


class ConversationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Conversation not found.")


class RetentionNotSet(Unprocessable):
    def __init__(self) -> None:
        super().__init__("No retention period is set: PATCH /api/v1/desk/settings with retention_days.")
