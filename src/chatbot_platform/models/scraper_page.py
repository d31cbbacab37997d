from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class ScraperPage(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A page (or linked file) a configuration found: what freshness checks compare against."""

    __tablename__ = "scraper_pages"
    __table_args__ = (UniqueConstraint("config_id", "url"),)

    config_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scraper_configs.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="page")  # page | document | links_only
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | vanished | failed
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    links: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    last_run_id: Mapped[uuid.UUID | None] = mapped_column()
    last_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
