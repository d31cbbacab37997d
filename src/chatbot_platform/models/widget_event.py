from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models.base import Base, TenantOwned, UUIDPrimaryKey


class WidgetEvent(UUIDPrimaryKey, TenantOwned, Base):
    """Something a visitor did in the widget (opened, closed, quick reply, citation click, …)."""

    __tablename__ = "widget_events"
    __table_args__ = (Index("ix_widget_events_tenant_created", "tenant_id", "created_at"),)

    kind: Mapped[str] = mapped_column(String(40))
    visitor_id: Mapped[str] = mapped_column(String(64))
    conversation_external_id: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
