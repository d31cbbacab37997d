from __future__ import annotations

from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class WidgetConfig(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """A tenant's widget: allowed origins, the assistant that answers, and the theme (one row per tenant)."""

    __tablename__ = "widget_configs"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list)
    assistant: Mapped[str] = mapped_column(String(200), default="default", server_default="default")
    conversation_lifetime_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    theme: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
