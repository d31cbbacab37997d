from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class DeskForm(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A lead-capture form: its fields (with validation), when the widget shows it, and where
    submissions go (e-mails, a CRM webhook signed with `webhook_secret`)."""

    __tablename__ = "desk_forms"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    triggers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    min_fill_seconds: Mapped[int] = mapped_column(default=3)
    notify_emails: Mapped[list[str]] = mapped_column(JSONB, default=list)
    confirmation_subject: Mapped[str | None] = mapped_column(String(300))
    confirmation_body: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
