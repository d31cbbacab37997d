from __future__ import annotations

from chatbot_platform.kit.errors import Conflict, NotFound


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
