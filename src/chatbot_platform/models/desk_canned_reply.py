from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class DeskCannedReply(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A prepared answer operators insert with a click or a /shortcut."""

    __tablename__ = "desk_canned_replies"

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    shortcut: Mapped[str | None] = mapped_column(String(50))
