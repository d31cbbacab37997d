"""THROTTLE_CHAT_REQUESTS per THROTTLE_CHAT_DECAY_MINUTES: per API key, and per end user when the
request names one (each end user of a key has a window of their own)."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

from chatbot_platform.chat.errors import ChatRateLimited
from chatbot_platform.kit.throttle import Window

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services


def bucket(key_id: uuid.UUID, end_user: str | None) -> str:
    if not end_user:
        return f"chat:{key_id}"
    # Hashed: end-user ids are the client's own strings, and may be personal data.
    digest = hashlib.sha256(end_user.encode()).hexdigest()[:32]
    return f"chat:{key_id}:user:{digest}"


async def check_chat_rate(services: Services, key_id: uuid.UUID, end_user: str | None) -> Window:
    """Count the request, or raise ChatRateLimited (429 with Retry-After) when the window is full."""
    security = services.settings.security
    window = await services.throttle.hit(
        bucket(key_id, end_user),
        limit=security.throttle_chat_requests,
        window=security.throttle_chat_decay_minutes * 60,
    )
    if not window.allowed:
        raise ChatRateLimited(window)
    return window
