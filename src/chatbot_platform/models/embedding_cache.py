from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import DateTime, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models.base import Base, TenantOwned


class CachedEmbedding(TenantOwned, Base):
    """A vector by (tenant, model, content hash): re-ingesting unchanged text costs nothing.

    Kept per tenant so that no cache is shared across tenants.
    """

    __tablename__ = "embedding_cache"
    tenant_id_indexed = False  # the primary key starts with tenant_id
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "model", "content_hash"),)

    model: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[Any] = mapped_column(Vector())
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
