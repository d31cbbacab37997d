from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from chatbot_platform.knowledge.schemas import KnowledgeBaseSettings
from chatbot_platform.models import Role
from chatbot_platform.models import Tenant as TenantRow
from chatbot_platform.models.tenant import EmbeddingSwitchStatus
from chatbot_platform.tenants.scopes import Scope

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Domain = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")
]
Language = Literal["it", "en"]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(Strict):
    name: Name
    slug: Slug | None = Field(None, description="URL-safe id; derived from the name when omitted.")
    domain: Domain | None = None
    plan: Annotated[str, StringConstraints(min_length=1, max_length=50)] = "free"
    default_language: Language | None = Field(None, description="it or en; APP_LOCALE when omitted.")


class TenantUpdate(Strict):
    settings: KnowledgeBaseSettings | None = Field(
        None, description="Overrides of the RAG_* settings for all the tenant's knowledge bases."
    )
    name: Name | None = None
    slug: Slug | None = None
    domain: Domain | None = None
    plan: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    default_language: Language | None = None
    embedding_model: ModelName | None = Field(
        None,
        description="Switch to this embedding model: every chunk is re-embedded in the background and "
        "the model becomes active once all are; searches use the previous one until then.",
    )


class EmbeddingSwitch(BaseModel):
    """The latest change of embedding model."""

    model: str = Field(description="The model being switched to.")
    status: EmbeddingSwitchStatus
    progress: int = Field(description="0-100: share of the chunks re-embedded.")
    error: str | None = Field(description="Why the switch failed.")
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: TenantRow) -> EmbeddingSwitch | None:
        if row.embedding_switch_status is None or row.embedding_switch_model is None:
            return None
        return cls(
            model=row.embedding_switch_model,
            status=row.embedding_switch_status,
            progress=row.embedding_switch_progress,
            error=row.embedding_switch_error,
            started_at=row.embedding_switch_started_at,
            finished_at=row.embedding_switch_finished_at,
        )


class Tenant(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    domain: str | None
    plan: str
    default_language: str
    settings: KnowledgeBaseSettings
    embedding_model: str = Field(description="The active embedding model of searches and new chunks.")
    embedding_switch: EmbeddingSwitch | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TenantRow, *, default_embedding_model: str) -> Tenant:
        """The tenant as the API shows it; a NULL model is the deployment's default."""
        return cls(
            id=row.id,
            name=row.name,
            slug=row.slug,
            domain=row.domain,
            plan=row.plan,
            default_language=row.default_language,
            settings=KnowledgeBaseSettings.model_validate(row.settings),
            embedding_model=row.embedding_model or default_embedding_model,
            embedding_switch=EmbeddingSwitch.of(row),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TenantCreated(Tenant):
    default_knowledge_base_id: uuid.UUID


class ApiKeyCreate(Strict):
    name: Name
    scopes: list[Scope] | None = Field(None, description="Defaults to every scope.")


class ApiKey(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The secret key. Shown only now; only its hash is stored.")


class UserCreate(Strict):
    email: EmailStr
    name: Name
    role: Role
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)] | None = Field(
        None, description="At least 12 characters; omit to invite the user to set one."
    )


class Member(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    has_password: bool
    created_at: datetime


class Me(BaseModel):
    tenant: Tenant
    key_id: uuid.UUID
    key_name: str
    scopes: list[str]
