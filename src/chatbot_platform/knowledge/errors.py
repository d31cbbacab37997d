from __future__ import annotations

from chatbot_platform.kit.errors import Conflict, NotFound, Unprocessable


class KnowledgeBaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Knowledge base not found.")


class KnowledgeBaseNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A knowledge base named {name!r} already exists.")


class DefaultKnowledgeBaseRequired(Conflict):
    def __init__(self) -> None:
        super().__init__("The default knowledge base cannot be deleted; make another one the default first.")


class UnknownLanguage(Unprocessable):
    def __init__(self, language: str, available: list[str]) -> None:
        super().__init__(
            f"language: {language!r} is not a text-search configuration; use one of {', '.join(available)}.",
            details=[
                {"field": "language", "location": "body", "message": "unknown text-search configuration"}
            ],
        )
