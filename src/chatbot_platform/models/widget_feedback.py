from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, SmallInteger, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models.base import Base, TenantOwned, UUIDPrimaryKey


class WidgetFeedback(UUIDPrimaryKey, TenantOwned, Base):
    """A visitor's thumbs up (+1) or down (-1) on one answer; a second vote replaces the first."""

    __tablename__ = "widget_feedback"
    __table_args__ = (UniqueConstraint("message_id", "visitor_id"),)

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
