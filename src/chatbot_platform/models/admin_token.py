from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models.base import Base, UUIDPrimaryKey
from chatbot_platform.models.document import _str_enum


class AdminTokenKind(enum.StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind, not a password
    INVITATION = "invitation"


class AdminToken(UUIDPrimaryKey, Base):
    """A one-use link sent by e-mail (password reset, invitation); only its SHA-256 is stored."""

    __tablename__ = "admin_tokens"

    kind: Mapped[AdminTokenKind] = mapped_column(_str_enum(AdminTokenKind, "admin_token_kind"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
