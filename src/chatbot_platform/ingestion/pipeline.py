"""The ingestion pipeline run by the jobs: content -> parsed blocks -> chunks -> vectors.

Each stage saves the document's status before it starts, so progress is visible live and a
crashed job resumes from the stored state. Jobs carry (tenant, document, version): a job for an
older version is a no-op, and running a job twice replaces rather than duplicates.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from chatbot_platform.ingestion.chunking import ChunkDraft, chunk_document
from chatbot_platform.ingestion.parsing import parse
from chatbot_platform.ingestion.parsing.types import ParseError
from chatbot_platform.ingestion.repository import ChunkRepo, DocumentRepo, EmbeddingCacheRepo
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.fetch import FetchError, fetch
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.kit.repository import scan_across_tenants
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import Chunk, Document, DocumentStatus
from chatbot_platform.retrieval.stores.base import VectorRecord
from chatbot_platform.retrieval.stores.fulltext import ChunkRow, replace_document_chunks
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)

EMBED_TASK = "ingestion.embed_document"
PROCESS_TASK = "ingestion.process_document"
STALL_SECONDS = 120
ACTIVE_STATUSES = (
    DocumentStatus.PENDING,
    DocumentStatus.PARSING,
    DocumentStatus.CHUNKING,
    DocumentStatus.EMBEDDING,
)
EMBED_BATCH = 64
PROGRESS = {
    DocumentStatus.PARSING: 10,
    DocumentStatus.CHUNKING: 30,
    DocumentStatus.EMBEDDING: 40,
    DocumentStatus.INDEXED: 100,
}
T = TypeVar("T")


def embedding_input(title: str, heading_path: Sequence[str], text: str) -> str:
    """What is embedded for a chunk: its document title and section path give it context."""
    context = " > ".join(part for part in (title, *heading_path) if part)
    return f"{context}\n\n{text}" if context else text


def content_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _current(
    services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID, version: int
) -> Document | None:
    async with services.database.transaction() as session:
        document = await DocumentRepo(session, tenant_id).get(document_id)
    if document is None or document.version != version:
        return None
    return document


async def set_status(
    services: Services,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    version: int,
    status: DocumentStatus,
    *,
    progress: int | None = None,
    error: str | None = None,
) -> bool:
    """Save a stage (only for the expected version); False when the document moved on or is gone."""
    async with services.database.transaction() as session:
        repo = DocumentRepo(session, tenant_id)
        updated = await repo.update_where(
            {
                "status": status,
                "progress": PROGRESS.get(status, 0) if progress is None else progress,
                "error": error,
                "updated_at": utcnow(),
                **({"indexed_at": utcnow()} if status == DocumentStatus.INDEXED else {}),
            },
            Document.id == document_id,
            Document.version == version,
        )
    return updated > 0


async def fail(
    services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID, version: int, reason: str
) -> None:
    log.warning("document failed", extra={"document_id": str(document_id), "reason": reason})
    await set_status(
        services, tenant_id, document_id, version, DocumentStatus.FAILED, progress=0, error=reason
    )


async def _content(services: Services, document: Document) -> tuple[bytes, str, str | None]:
    if document.source_url and not document.file_path:
        fetched = await fetch(
            document.source_url,
            allow_private=services.settings.security.fetch_allow_private_networks,
            request_timeout=min(60.0, float(services.settings.queue.ingestion_timeout)),
            max_bytes=services.settings.storage.upload_max_mb * 1024 * 1024,
        )
        if fetched.status_code >= 400:
            raise FetchError(f"The URL answered HTTP {fetched.status_code}.")
        mime = fetched.content_type.split(";")[0].strip() or None
        name = fetched.url.rstrip("/").rsplit("/", 1)[-1] or "page.html"
        return fetched.content, name, mime
    if document.file_path is None:
        raise ParseError("The document has no stored content.")
    data = await services.files.get(document.file_path)
    return data, document.file_path.rsplit("/", 1)[-1], document.mime_type


def _rows(title: str, drafts: Sequence[ChunkDraft]) -> list[ChunkRow]:
    return [
        ChunkRow(
            id=uuid.uuid4(),
            ordinal=draft.ordinal,
            text=draft.text,
            heading_path=list(draft.heading_path),
            page=draft.page,
            anchor=draft.anchor,
            token_count=estimate_tokens(draft.text),
            content_hash=content_hash(embedding_input(title, draft.heading_path, draft.text)),
        )
        for draft in drafts
    ]


async def _chunking_limits(
    services: Services, tenant_id: uuid.UUID, kb_settings: dict[str, object]
) -> tuple[int, int]:
    """RAG_CHUNK_* overridden by the tenant's settings, then by the knowledge base's."""
    async with services.database.transaction() as session:
        tenant = await tenants.get_tenant_or_raise(session, tenant_id)
    merged = {**tenant.settings, **kb_settings}
    max_chars = int(str(merged.get("chunk_max_chars", services.settings.rag.chunk_max_chars)))
    overlap = int(str(merged.get("chunk_overlap_chars", services.settings.rag.chunk_overlap_chars)))
    return max_chars, min(overlap, max_chars // 2)


async def process_document(
    services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID, version: int
) -> str:
    """Parse and chunk one document version; its chunks become full-text searchable at once."""
    document = await _current(services, tenant_id, document_id, version)
    if document is None:
        return "stale"
    await set_status(services, tenant_id, document_id, version, DocumentStatus.PARSING)
    try:
        data, filename, mime = await _content(services, document)
        parsed = await asyncio.to_thread(parse, data, filename, mime)
    except (ParseError, FetchError) as exc:
        await fail(services, tenant_id, document_id, version, getattr(exc, "reason", None) or str(exc))
        return "failed"
    await set_status(services, tenant_id, document_id, version, DocumentStatus.CHUNKING)
    async with services.database.transaction() as session:
        kb = await knowledge.get_or_raise(session, tenant_id, document.knowledge_base_id)
    max_chars, overlap = await _chunking_limits(services, tenant_id, kb.settings)
    drafts = await asyncio.to_thread(chunk_document, parsed, max_chars=max_chars, overlap_chars=overlap)
    if not drafts:
        await fail(services, tenant_id, document_id, version, "No text could be extracted from the document.")
        return "failed"
    title = document.title
    rows = _rows(title, drafts)
    await services.vector_store.delete_documents(tenant_id, [document_id])
    return await _swap_chunks(services, document, kb.language, rows)


async def _swap_chunks(services: Services, document: Document, language: str, rows: list[ChunkRow]) -> str:
    tenant_id, version = document.tenant_id, document.version
    async with services.database.transaction() as session:
        repo = DocumentRepo(session, tenant_id)
        current = await repo.get(document.id)
        if current is None or current.version != version:
            return "stale"
        await replace_document_chunks(
            session,
            tenant_id=tenant_id,
            knowledge_base_id=current.knowledge_base_id,
            document_id=current.id,
            title=current.title,
            language=language,
            rows=rows,
        )
        current.chunk_count = len(rows)
        current.status = DocumentStatus.EMBEDDING
        current.progress = PROGRESS[DocumentStatus.EMBEDDING]
        await repo.save(current)
        enqueue_after_commit(
            session,
            EMBED_TASK,
            key=f"embed:{current.id}:v{version}",
            tenant_id=str(tenant_id),
            document_id=str(current.id),
            version=version,
        )
    return "chunked"


async def embed_document(
    services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID, version: int
) -> str:
    """Vectors for the document's chunks, from the cache when the text was embedded before."""
    document = await _current(services, tenant_id, document_id, version)
    resumable = (DocumentStatus.EMBEDDING, DocumentStatus.INDEXED, DocumentStatus.FAILED)  # FAILED: a retry
    if document is None or document.status not in resumable or document.chunk_count == 0:
        return "stale"
    async with services.database.transaction() as session:
        chunks = await ChunkRepo(session, tenant_id).for_document(document_id)
    done = await services.vector_store.chunk_ids(tenant_id, document_id)
    todo = [chunk for chunk in chunks if chunk.id not in done]
    for index, batch in enumerate(batches(todo, EMBED_BATCH), start=1):
        await _embed_batch(services, document, batch)
        share = min(1.0, index * EMBED_BATCH / max(1, len(todo)))
        progress = PROGRESS[DocumentStatus.EMBEDDING] + int(55 * share)
        if not await set_status(
            services, tenant_id, document_id, version, DocumentStatus.EMBEDDING, progress=progress
        ):
            return "stale"
    await set_status(services, tenant_id, document_id, version, DocumentStatus.INDEXED)
    await _drop_old_files(services, document)
    return "indexed"


async def _embed_batch(services: Services, document: Document, batch: Sequence[Chunk]) -> None:
    model = services.embedder.model
    async with services.database.transaction() as session:
        cache = EmbeddingCacheRepo(session, document.tenant_id)
        vectors = await cache.lookup(model, [chunk.content_hash for chunk in batch])
        missing = [chunk for chunk in batch if chunk.content_hash not in vectors]
        if missing:
            inputs = [embedding_input(document.title, chunk.heading_path, chunk.text) for chunk in missing]
            computed = await services.embedder.embed_passages(inputs)
            fresh = {chunk.content_hash: vector for chunk, vector in zip(missing, computed, strict=True)}
            await cache.store(model, fresh)
            vectors |= fresh
    records = [
        VectorRecord(
            chunk_id=chunk.id,
            tenant_id=document.tenant_id,
            knowledge_base_id=document.knowledge_base_id,
            document_id=document.id,
            vector=vectors[chunk.content_hash],
        )
        for chunk in batch
    ]
    await services.vector_store.upsert(records, model=model)


async def _drop_old_files(services: Services, document: Document) -> None:
    """Keep only the stored version the document points at."""
    if document.file_path is None:
        return
    keep = document.file_path.split("/")[2]
    prefix = f"{document.tenant_id}/{document.id}"
    for version_dir in await services.files.list_dirs(prefix):
        if version_dir != keep:
            await services.files.delete_prefix(f"{prefix}/{version_dir}")


async def recover_stalled(services: Services) -> int:
    """Re-send the job of every document stuck in a stage (a lost enqueue, a crash); returns how many."""
    cutoff = utcnow() - timedelta(seconds=STALL_SECONDS)
    async with services.database.transaction() as session:
        stalled = await scan_across_tenants(
            session, Document, Document.status.in_(ACTIVE_STATUSES), Document.updated_at < cutoff
        )
    for document in stalled:
        task_name = EMBED_TASK if document.status == DocumentStatus.EMBEDDING else PROCESS_TASK
        prefix = "embed" if task_name == EMBED_TASK else "process"
        await services.queues.enqueue(
            task_name,
            key=f"{prefix}:{document.id}:v{document.version}",
            tenant_id=str(document.tenant_id),
            document_id=str(document.id),
            version=document.version,
        )
    return len(stalled)


async def purge_document(services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """Remove a deleted document's vectors and files (idempotent)."""
    await services.vector_store.delete_documents(tenant_id, [document_id])
    await services.files.delete_prefix(f"{tenant_id}/{document_id}")
    return "purged"
