from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned, Timestamps, UUIDPrimaryKey


class AssistantProfile(UUIDPrimaryKey, TenantOwned, Timestamps, Base):
    """How a tenant's assistant answers: prompt, persona, "I don't know" messages, sources, model.

    Its `name` is a model id of the OpenAI-compatible API; the tenant's default profile (at most
    one) answers requests that name no profile. Unset (NULL) fields fall back to the platform's.
    """

    __tablename__ = "assistant_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index(
            "uq_assistant_profiles_one_default",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    persona: Mapped[str | None] = mapped_column(Text)
    dont_know_messages: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    knowledge_base_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    chat_model: Mapped[str | None] = mapped_column(String(200))
    temperature: Mapped[float | None]
    max_tokens: Mapped[int | None]
    max_sources: Mapped[int | None]
    min_citations: Mapped[int | None]
    min_confidence: Mapped[float | None]
    force_if_has_citations: Mapped[bool | None]
