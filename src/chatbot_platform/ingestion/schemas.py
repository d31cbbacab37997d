from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from chatbot_platform.models import DocumentSource, DocumentStatus

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
MAX_TEXT_CHARS = 20_000_000


class DocumentCreate(BaseModel):
    """Raw text or a URL to ingest (files go through multipart)."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base_id: uuid.UUID
    title: Title
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)] | None = None
    url: AnyHttpUrl | None = None
    external_id: ExternalId | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> DocumentCreate:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of `text` or `url`")
        return self


class DocumentBatch(BaseModel):
    """Up to 200 text or URL documents in one request."""

    model_config = ConfigDict(extra="forbid")

    documents: Annotated[list[DocumentCreate], Field(min_length=1, max_length=200)]


class FileFields(BaseModel):
    """The form fields that come with uploaded files."""

    model_config = ConfigDict(extra="forbid")

    knowledge_base_id: uuid.UUID
    title: Title | None = None
    external_id: ExternalId | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentAccepted(BaseModel):
    id: uuid.UUID
    status: DocumentStatus
    unchanged: bool = Field(False, description="true when the same external_id came with unchanged content.")


class Document(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    knowledge_base_id: uuid.UUID
    title: str
    source: DocumentSource
    source_url: str | None
    external_id: str | None
    mime_type: str | None
    size_bytes: int | None
    status: DocumentStatus
    progress: int
    error: str | None
    version: int
    chunk_count: int
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None


class Chunk(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ordinal: int
    text: str
    heading_path: list[str]
    page: int | None
    anchor: str | None
    token_count: int
    embedded: bool = False


class BatchItem(BaseModel):
    filename: str = Field(description="The file name (multipart) or the title (JSON).")
    status: int
    id: uuid.UUID | None = None
    document_status: DocumentStatus | None = None
    error: str | None = None
    version: int | None = Field(None, exclude=True)


class BatchResult(BaseModel):
    results: list[BatchItem]
    accepted: int
    rejected: int
