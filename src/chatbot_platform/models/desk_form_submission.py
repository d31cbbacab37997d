from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class DeskFormSubmission(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """What a visitor sent through a form; `status` is the tenant's follow-up (new, in_progress, done,
    or spam when the spam checks caught it); `webhook_status` the CRM delivery."""

    __tablename__ = "desk_form_submissions"
    __table_args__ = (Index("ix_desk_form_submissions_tenant_created", "tenant_id", "created_at"),)

    form_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("desk_forms.id", ondelete="CASCADE"), index=True)
    conversation_external_id: Mapped[str | None] = mapped_column(String(200))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="new")
    webhook_status: Mapped[str | None] = mapped_column(String(20))
    webhook_attempts: Mapped[int] = mapped_column(default=0)
