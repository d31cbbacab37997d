from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class KnowledgeBase(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index(
            "uq_knowledge_bases_one_default", "tenant_id", unique=True, postgresql_where=text("is_default")
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(63))
    is_default: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
