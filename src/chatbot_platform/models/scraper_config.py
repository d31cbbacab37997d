from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class ScraperConfig(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A named website crawl of one tenant; `options` holds the validated crawl options."""

    __tablename__ = "scraper_configs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_scraper_configs_next_run_at", "next_run_at"),
    )

    name: Mapped[str] = mapped_column(String(200))
    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(default=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    schedule_interval_minutes: Mapped[int | None] = mapped_column()
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
