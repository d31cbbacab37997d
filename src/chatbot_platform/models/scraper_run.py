from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class ScraperRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ScraperRun(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """One crawl of a configuration, with its live counters."""

    __tablename__ = "scraper_runs"
    __table_args__ = (Index("ix_scraper_runs_config_created", "config_id", "created_at"),)

    config_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scraper_configs.id", ondelete="CASCADE"))
    status: Mapped[ScraperRunStatus] = mapped_column(
        Enum(
            ScraperRunStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
            name="scraper_run_status",
        ),
        default=ScraperRunStatus.QUEUED,
    )
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    found: Mapped[int] = mapped_column(default=0)
    fetched: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    ingested: Mapped[int] = mapped_column(default=0)
    vanished: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
