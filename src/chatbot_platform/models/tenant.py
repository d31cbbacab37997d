from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, Timestamps, UUIDPrimaryKey
from chatbot_platform.models.document import _str_enum


class EmbeddingSwitchStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, the job is queued
    EMBEDDING = "embedding"  # re-embedding every chunk with the target model
    COMPLETED = "completed"  # the target model is active
    FAILED = "failed"  # gave up; the previous model stays active
    CANCELLED = "cancelled"  # the active model was asked for again before the switch completed


SWITCH_IN_PROGRESS = (EmbeddingSwitchStatus.PENDING, EmbeddingSwitchStatus.EMBEDDING)


class Tenant(UUIDPrimaryKey, Timestamps, Base):
    """A customer. `embedding_model` NULL means the deployment's default model.

    The `embedding_switch_*` columns describe the latest change of embedding model; its id is
    the version a switch job carries, so a replaced switch's job knows to stop.
    """

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    domain: Mapped[str | None] = mapped_column(String(253))
    plan: Mapped[str] = mapped_column(String(50), default="free")
    default_language: Mapped[str] = mapped_column(String(10), default="it")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedding_switch_id: Mapped[uuid.UUID | None]
    embedding_switch_model: Mapped[str | None] = mapped_column(String(200))
    embedding_switch_status: Mapped[EmbeddingSwitchStatus | None] = mapped_column(
        _str_enum(EmbeddingSwitchStatus, "embedding_switch_status")
    )
    embedding_switch_progress: Mapped[int] = mapped_column(default=0, server_default="0")
    embedding_switch_error: Mapped[str | None] = mapped_column(Text)
    embedding_switch_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    embedding_switch_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def switching_embedding_model(self) -> bool:
        return self.embedding_switch_status in SWITCH_IN_PROGRESS
