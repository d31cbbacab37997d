from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class DeskSettings(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A tenant's service desk: operator hours, handoff rules, notifications and transcript retention.

    `schedule` maps weekday (mon..sun) to opening intervals (["09:00", "18:00"]) in `timezone`;
    an empty schedule means operators may be reached at any hour (presence still decides).
    """

    __tablename__ = "desk_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    queue_timeout_seconds: Mapped[int] = mapped_column(default=300)
    dont_know_threshold: Mapped[int] = mapped_column(default=2)
    notify_emails: Mapped[list[str]] = mapped_column(JSONB, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    timeout_message: Mapped[str | None] = mapped_column(Text)
    retention_days: Mapped[int | None]
    last_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
