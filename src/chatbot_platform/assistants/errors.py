from __future__ import annotations

from chatbot_platform.kit.errors import Conflict, NotFound


class AssistantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Assistant profile not found.")


class AssistantNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"An assistant profile named {name!r} already exists.")
