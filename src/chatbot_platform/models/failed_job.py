from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models.base import Base, UUIDPrimaryKey


class FailedJob(UUIDPrimaryKey, Base):
    """A job that used up its tries; `cbp queue retry` sends it again. Platform-level, like the audit log."""

    __tablename__ = "failed_jobs"

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    queue: Mapped[str] = mapped_column(String(50), index=True)
    task: Mapped[str] = mapped_column(String(100))
    job_key: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    retried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
