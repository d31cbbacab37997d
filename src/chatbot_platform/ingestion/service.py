"""Documents of one tenant: accepting content, listing, re-ingesting and deleting. Never commits."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.ingestion import pipeline
from chatbot_platform.ingestion.errors import ConcurrentUpload, DocumentNotFound, DuplicateExternalId
from chatbot_platform.ingestion.repository import ChunkRepo, DocumentRepo
from chatbot_platform.kit.errors import AppError
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.kit.storage import FileStore
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import Chunk, Document, DocumentSource, DocumentStatus

PURGE_TASK = "ingestion.purge_document"
TEXT_FILENAME = "content.txt"


@dataclass(frozen=True)
class Content:
    """What a user sent: bytes of a file or text, or a URL to fetch later."""

    source: DocumentSource
    filename: str
    data: bytes = b""
    url: str | None = None
    mime_type: str | None = None

    @property
    def content_hash(self) -> str:
        material = self.url.encode() if self.url is not None else self.data
        return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class Accepted:
    document: Document
    unchanged: bool = False


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "file"
    return cleaned[:150]


def document_prefix(tenant_id: uuid.UUID, document_id: uuid.UUID) -> str:
    return f"{tenant_id}/{document_id}"


def _enqueue_processing(session: AsyncSession, document: Document) -> None:
    pipeline.enqueue(session, pipeline.PROCESS_TASK, document.tenant_id, [(document.id, document.version)])


async def accept(
    session: AsyncSession,
    files: FileStore,
    tenant_id: uuid.UUID,
    *,
    knowledge_base_id: uuid.UUID,
    title: str,
    content: Content,
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    enqueue: bool = True,
    knowledge_base_checked: bool = False,
) -> Accepted:
    """Create the document (or update the one with this external_id) and queue its processing.

    With `enqueue=False` the caller queues one job for a whole batch (`pipeline.enqueue`), and
    `knowledge_base_checked` says it already checked that the knowledge base is the tenant's.
    """
    if not knowledge_base_checked:
        await knowledge.get_or_raise(session, tenant_id, knowledge_base_id)
    repo = DocumentRepo(session, tenant_id)
    existing = await repo.get_by_external_id(knowledge_base_id, external_id) if external_id else None
    if (
        existing is not None
        and existing.content_hash == content.content_hash
        and existing.status != DocumentStatus.FAILED
    ):
        if title != existing.title or (metadata is not None and metadata != existing.metadata_):
            existing.title, existing.metadata_ = (
                title,
                metadata if metadata is not None else existing.metadata_,
            )
            await repo.save(existing)
        return Accepted(existing, unchanged=True)
    document = existing or Document(
        id=uuid.uuid4(), knowledge_base_id=knowledge_base_id, external_id=external_id, version=0
    )
    document.title = title
    document.source = content.source
    document.source_url = content.url
    document.mime_type = content.mime_type or mimetypes.guess_type(content.filename)[0]
    document.size_bytes = len(content.data) if content.url is None else None
    document.content_hash = content.content_hash
    document.metadata_ = metadata if metadata is not None else (existing.metadata_ if existing else {})
    _reset_for_processing(document)
    document.file_path = _file_path(tenant_id, document, content)
    if existing is None:
        await repo.add(document)
    else:
        await repo.save(document)
    if document.file_path is not None:
        await files.put(document.file_path, content.data)
    if enqueue:
        _enqueue_processing(session, document)
    return Accepted(document)


def _file_path(tenant_id: uuid.UUID, document: Document, content: Content) -> str | None:
    if content.url is not None:
        return None
    return f"{tenant_id}/{document.id}/v{document.version}/{safe_filename(content.filename)}"


@dataclass(frozen=True)
class NewDocument:
    """One item of a batch: where it goes and what it contains."""

    knowledge_base_id: uuid.UUID
    title: str
    content: Content
    external_id: str | None = None
    metadata: dict[str, Any] | None = None


async def accept_many(
    session: AsyncSession, files: FileStore, tenant_id: uuid.UUID, items: Sequence[NewDocument]
) -> list[Accepted | AppError]:
    """`accept` for a batch whose knowledge bases the caller checked: new documents cost one
    lookup, one multi-row insert and one round of file writes; the caller queues the job."""
    repo = DocumentRepo(session, tenant_id)
    keys = list({(i.knowledge_base_id, i.external_id) for i in items if i.external_id})
    existing = await repo.by_external_ids(keys)
    results: list[Accepted | AppError] = []
    created: list[Document] = []
    writes: list[tuple[str, bytes]] = []
    seen: set[tuple[uuid.UUID, str]] = set()
    for item in items:
        key = (item.knowledge_base_id, item.external_id or "")
        if item.external_id and key in seen:
            results.append(DuplicateExternalId(item.external_id))
            continue
        seen.add(key)
        if item.external_id and key in existing:
            accepted = await accept(
                session,
                files,
                tenant_id,
                knowledge_base_id=item.knowledge_base_id,
                title=item.title,
                content=item.content,
                external_id=item.external_id,
                metadata=item.metadata,
                enqueue=False,
                knowledge_base_checked=True,
            )
            results.append(accepted)
            continue
        document = _new_document(tenant_id, item)
        created.append(document)
        if document.file_path is not None:
            writes.append((document.file_path, item.content.data))
        results.append(Accepted(document))
    await repo.add_all(created, conflict=ConcurrentUpload())
    await files.put_many(writes)
    return results


def _new_document(tenant_id: uuid.UUID, item: NewDocument) -> Document:
    content = item.content
    document = Document(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        knowledge_base_id=item.knowledge_base_id,
        external_id=item.external_id,
        title=item.title,
        source=content.source,
        source_url=content.url,
        mime_type=content.mime_type or mimetypes.guess_type(content.filename)[0],
        size_bytes=len(content.data) if content.url is None else None,
        content_hash=content.content_hash,
        metadata_=item.metadata or {},
        version=1,
        status=DocumentStatus.PENDING,
        progress=0,
        chunk_count=0,
    )
    document.file_path = _file_path(tenant_id, document, content)
    return document


def _reset_for_processing(document: Document) -> None:
    document.version = (document.version or 0) + 1
    document.status = DocumentStatus.PENDING
    document.progress = 0
    document.error = None


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    document = await DocumentRepo(session, tenant_id).get(document_id)
    if document is None:
        raise DocumentNotFound()
    return document


async def list_(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    knowledge_base_id: uuid.UUID | None,
    status: DocumentStatus | None,
    source: DocumentSource | None,
    limit: int,
    offset: int,
) -> tuple[list[Document], int]:
    where = []
    if knowledge_base_id is not None:
        where.append(Document.knowledge_base_id == knowledge_base_id)
    if status is not None:
        where.append(Document.status == status)
    if source is not None:
        where.append(Document.source == source)
    repo = DocumentRepo(session, tenant_id)
    items = await repo.list(
        *where, order_by=[Document.created_at.desc(), Document.id], limit=limit, offset=offset
    )
    return items, await repo.count(*where)


async def chunks(
    session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Chunk], int]:
    await get_or_raise(session, tenant_id, document_id)
    repo = ChunkRepo(session, tenant_id)
    items = await repo.for_document(document_id, limit=limit, offset=offset)
    return items, await repo.count(Chunk.document_id == document_id)


async def reingest(session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """Process the stored content again (a new version); the old chunks stay searchable until replaced."""
    document = await get_or_raise(session, tenant_id, document_id)
    _reset_for_processing(document)
    await DocumentRepo(session, tenant_id).save(document)
    _enqueue_processing(session, document)
    return document


async def delete(session: AsyncSession, tenant_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    """Delete the document and its chunks now; vectors and files are purged by a job after commit."""
    document = await get_or_raise(session, tenant_id, document_id)
    await DocumentRepo(session, tenant_id).delete(document)
    enqueue_after_commit(
        session,
        PURGE_TASK,
        key=f"purge:{document.id}",
        tenant_id=str(tenant_id),
        document_id=str(document.id),
    )
    return document
