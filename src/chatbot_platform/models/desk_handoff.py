from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class HandoffStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for an operator
    ACTIVE = "active"  # an operator answers; the bot is silent
    RELEASED = "released"  # the operator gave the conversation back to the bot
    CLOSED = "closed"  # done
    TIMED_OUT = "timed_out"  # nobody took it within the queue timeout
    UNAVAILABLE = "unavailable"  # asked for while no operator was available (kept for the numbers)


OPEN_STATUSES = (HandoffStatus.QUEUED, HandoffStatus.ACTIVE)


class DeskHandoff(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A visitor's request for a human, from the queue to its end; at most one open per conversation."""

    __tablename__ = "desk_handoffs"
    __table_args__ = (
        Index("ix_desk_handoffs_tenant_status", "tenant_id", "status"),
        Index(
            "uq_desk_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'active')"),
        ),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    operator: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
