from __future__ import annotations

from collections.abc import Iterable

from chatbot_platform.kit.errors import Conflict, NotFound, Unprocessable


class TenantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Tenant not found.")


class ApiKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("API key not found.")


class SlugTaken(Conflict):
    def __init__(self, slug: str) -> None:
        super().__init__(f"The slug {slug!r} is already taken.")


class AlreadyMember(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(f"{email} is already a member of this tenant.")


class EmbeddingModelNotOffered(Unprocessable):
    def __init__(self, model: str, offered: Iterable[str]) -> None:
        message = f"Unknown embedding model {model!r}; this deployment offers: {', '.join(sorted(offered))}."
        details = [{"field": "embedding_model", "location": "body", "message": message}]
        super().__init__(message, details=details)
