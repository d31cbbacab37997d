"""The ingestion pipeline run by the jobs: content -> parsed blocks -> chunks -> vectors.

Jobs work on a list of (document, version) items of one tenant, so that a bulk upload costs a
few transactions and embedding calls for the whole batch rather than per document. Each stage
saves the documents' status before it starts, so progress is visible live and a crashed job
resumes from the stored state. An item whose document moved to a newer version (or was deleted)
is skipped, and running a job twice replaces chunks and vectors rather than duplicating them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import tuple_

from chatbot_platform.embeddings.base import Embedder, EmbeddingError
from chatbot_platform.embeddings.tenant import hold_tenant_embedder, tenant_embedder
from chatbot_platform.ingestion.chunking import ChunkDraft, chunk_document
from chatbot_platform.ingestion.parsing import parse
from chatbot_platform.ingestion.parsing.types import ParseError
from chatbot_platform.ingestion.repository import ChunkRepo, DocumentRepo, EmbeddingCacheRepo
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.fetch import FetchError, fetch
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.kit.repository import scan_across_tenants
from chatbot_platform.knowledge.repository import KnowledgeBaseRepo
from chatbot_platform.models import Chunk, Document, DocumentStatus, KnowledgeBase
from chatbot_platform.retrieval.stores.base import VectorRecord
from chatbot_platform.retrieval.stores.fulltext import ChunkRow, DocumentChunks, replace_chunks
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)

PROCESS_TASK = "ingestion.process_documents"
EMBED_TASK = "ingestion.embed_documents"
EMBED_BATCH = 64
MODEL_CHANGE_RETRIES = 3
STALL_SECONDS = 120
ACTIVE_STATUSES = (
    DocumentStatus.PENDING,
    DocumentStatus.PARSING,
    DocumentStatus.CHUNKING,
    DocumentStatus.EMBEDDING,
)
PROGRESS = {
    DocumentStatus.PARSING: 10,
    DocumentStatus.CHUNKING: 30,
    DocumentStatus.EMBEDDING: 40,
    DocumentStatus.INDEXED: 100,
}
Item = tuple[uuid.UUID, int]  # (document id, version)
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


def job_key(prefix: str, items: Sequence[Item]) -> str:
    """One key per set of (document, version): the same work is never queued twice."""
    if len(items) == 1:
        return f"{prefix}:{items[0][0]}:v{items[0][1]}"
    digest = hashlib.sha256(",".join(f"{d}:{v}" for d, v in sorted(items)).encode()).hexdigest()[:24]
    return f"{prefix}:batch:{digest}"


def job_kwargs(tenant_id: uuid.UUID, items: Sequence[Item]) -> dict[str, Any]:
    return {"tenant_id": str(tenant_id), "items": [[str(d), v] for d, v in items]}


def enqueue(
    session: AsyncSession,
    task_name: str,
    tenant_id: uuid.UUID,
    items: Sequence[Item],
    *,
    key_suffix: str = "",
) -> None:
    """Queue the job after commit; `key_suffix` sets it apart from a job of the same items still running."""
    prefix = "process" if task_name == PROCESS_TASK else "embed"
    key = job_key(prefix, items) + key_suffix
    enqueue_after_commit(session, task_name, key=key, **job_kwargs(tenant_id, items))


async def _current(services: Services, tenant_id: uuid.UUID, items: Sequence[Item]) -> list[Document]:
    """The documents still at the job's version (deleted or newer ones are skipped)."""
    async with services.database.transaction() as session:
        return await DocumentRepo(session, tenant_id).list(
            tuple_(Document.id, Document.version).in_(list(items))
        )


async def set_status(
    services: Services,
    tenant_id: uuid.UUID,
    items: Sequence[Item],
    status: DocumentStatus,
    *,
    progress: int | None = None,
    error: str | None = None,
) -> int:
    """Save a stage for the documents still at these versions; returns how many were updated."""
    if not items:
        return 0
    async with services.database.transaction() as session:
        return await _set_status(session, tenant_id, items, status, progress=progress, error=error)


async def _set_status(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    items: Sequence[Item],
    status: DocumentStatus,
    *,
    progress: int | None = None,
    error: str | None = None,
) -> int:
    values: dict[str, Any] = {
        "status": status,
        "progress": PROGRESS.get(status, 0) if progress is None else progress,
        "error": error,
        "updated_at": utcnow(),
    }
    if status == DocumentStatus.INDEXED:
        values["indexed_at"] = utcnow()
    return await DocumentRepo(session, tenant_id).update_where(
        values, tuple_(Document.id, Document.version).in_(list(items))
    )


async def fail(services: Services, tenant_id: uuid.UUID, item: Item, reason: str) -> None:
    log.warning("document failed", extra={"document_id": str(item[0]), "reason": reason})
    await set_status(services, tenant_id, [item], DocumentStatus.FAILED, progress=0, error=reason)


# -- parsing and chunking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_chars: int
    overlap: int


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


def _limits(services: Services, tenant_settings: dict[str, Any], kb: KnowledgeBase) -> Limits:
    """RAG_CHUNK_* overridden by the tenant's settings, then by the knowledge base's."""
    merged = {**tenant_settings, **kb.settings}
    max_chars = int(merged.get("chunk_max_chars", services.settings.rag.chunk_max_chars))
    overlap = int(merged.get("chunk_overlap_chars", services.settings.rag.chunk_overlap_chars))
    return Limits(max_chars, min(overlap, max_chars // 2))


@dataclass(frozen=True)
class Work:
    """One document to parse and chunk, with its content already read."""

    document: Document
    kb: KnowledgeBase
    limits: Limits
    data: bytes
    filename: str
    mime_type: str | None


def _parse_and_chunk(work: Work) -> DocumentChunks:
    parsed = parse(work.data, work.filename, work.mime_type)
    drafts = chunk_document(parsed, max_chars=work.limits.max_chars, overlap_chars=work.limits.overlap)
    if not drafts:
        raise ParseError("No text could be extracted from the document.")
    document, kb = work.document, work.kb
    return DocumentChunks(document.id, kb.id, document.title, kb.language, _rows(document.title, drafts))


def _parse_and_chunk_all(works: Sequence[Work]) -> list[DocumentChunks | ParseError]:
    """CPU work of a whole batch in one trip to a thread (one hop per document cost more than parsing)."""
    results: list[DocumentChunks | ParseError] = []
    for work in works:
        try:
            results.append(_parse_and_chunk(work))
        except ParseError as exc:
            results.append(exc)
    return results


async def process_documents(services: Services, tenant_id: uuid.UUID, items: Sequence[Item]) -> str:
    """Parse and chunk documents; their chunks become full-text searchable together."""
    documents = await _current(services, tenant_id, items)
    if not documents:
        return "stale"
    live = [(d.id, d.version) for d in documents]
    await set_status(services, tenant_id, live, DocumentStatus.PARSING)
    async with services.database.transaction() as session:
        tenant = await tenants.get_tenant_or_raise(session, tenant_id)
        kb_ids = list({d.knowledge_base_id for d in documents})
        kbs = {
            kb.id: kb for kb in await KnowledgeBaseRepo(session, tenant_id).list(KnowledgeBase.id.in_(kb_ids))
        }
    works: list[Work] = []
    for document in documents:
        kb = kbs.get(document.knowledge_base_id)
        if kb is None:
            continue
        try:
            data, filename, mime = await _content(services, document)
        except (ParseError, FetchError) as exc:
            await fail(services, tenant_id, (document.id, document.version), _reason(exc))
            continue
        works.append(Work(document, kb, _limits(services, tenant.settings, kb), data, filename, mime))
    chunked: list[DocumentChunks] = []
    for work, outcome in zip(works, await asyncio.to_thread(_parse_and_chunk_all, works), strict=True):
        if isinstance(outcome, ParseError):
            await fail(services, tenant_id, (work.document.id, work.document.version), _reason(outcome))
        else:
            chunked.append(outcome)
    if not chunked:
        return "failed"
    versions = {d.id: d.version for d in documents}
    reingested = [d.id for d in documents if d.version > 1 and d.id in {c.document_id for c in chunked}]
    if reingested:
        await services.vector_store.delete_documents(tenant_id, reingested)
    await _swap(services, tenant_id, chunked, versions)
    return "chunked"


async def _swap(
    services: Services, tenant_id: uuid.UUID, chunked: list[DocumentChunks], versions: dict[uuid.UUID, int]
) -> None:
    """One transaction: new chunks in, counts and statuses saved, the embedding job queued."""
    async with services.database.transaction() as session:
        repo = DocumentRepo(session, tenant_id)
        still = {
            d.id
            for d in await repo.list(
                tuple_(Document.id, Document.version).in_(
                    [(c.document_id, versions[c.document_id]) for c in chunked]
                )
            )
        }
        chunked = [c for c in chunked if c.document_id in still]
        await replace_chunks(session, tenant_id, chunked)
        await repo.update_each(
            [c.document_id for c in chunked],
            {
                "chunk_count": [len(c.rows) for c in chunked],
                "status": [DocumentStatus.EMBEDDING.value] * len(chunked),
                "progress": [PROGRESS[DocumentStatus.EMBEDDING]] * len(chunked),
            },
        )
        items = [(c.document_id, versions[c.document_id]) for c in chunked]
        if items:
            enqueue(session, EMBED_TASK, tenant_id, items)


def _reason(exc: ParseError | FetchError) -> str:
    return getattr(exc, "reason", None) or str(exc)


# -- embedding ----------------------------------------------------------------------------------


async def embed_documents(services: Services, tenant_id: uuid.UUID, items: Sequence[Item]) -> str:
    """Vectors for the documents' chunks, in batches across documents, cached by content."""
    resumable = (DocumentStatus.EMBEDDING, DocumentStatus.INDEXED, DocumentStatus.FAILED)  # FAILED: a retry
    documents = [
        d for d in await _current(services, tenant_id, items) if d.status in resumable and d.chunk_count
    ]
    if not documents:
        return "stale"
    by_id = {d.id: d for d in documents}
    async with services.database.transaction() as session:
        chunks = await ChunkRepo(session, tenant_id).list(
            Chunk.document_id.in_(list(by_id)), order_by=[Chunk.document_id, Chunk.ordinal]
        )
        model = (await tenant_embedder(services, session, tenant_id)).model
    done = await services.vector_store.chunk_ids(tenant_id, list(by_id), model=model)
    todo = [chunk for chunk in chunks if chunk.id not in done]
    remaining = {doc_id: sum(1 for c in todo if c.document_id == doc_id) for doc_id in by_id}
    await _mark_finished(services, tenant_id, by_id, remaining)
    for batch in batches(todo, EMBED_BATCH):
        await _embed_batch(services, tenant_id, by_id, batch)
        for chunk in batch:
            remaining[chunk.document_id] -= 1
        await _mark_finished(services, tenant_id, by_id, remaining)
    return "indexed"


async def requeue_embedding(
    session: AsyncSession, tenant_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
) -> int:
    """Embed these documents' chunks again (those with the active model's vector are skipped).

    Only indexed documents and those being embedded qualify; the others get new chunks anyway or
    failed. The job key is fresh, so a job of the same documents still running does not absorb it.
    """
    if not document_ids:
        return 0
    documents = await DocumentRepo(session, tenant_id).list(
        Document.id.in_(list(document_ids)),
        Document.status.in_((DocumentStatus.INDEXED, DocumentStatus.EMBEDDING)),
        Document.chunk_count > 0,
    )
    items = [(d.id, d.version) for d in documents]
    if items:
        await _set_status(session, tenant_id, items, DocumentStatus.EMBEDDING)
        enqueue(session, EMBED_TASK, tenant_id, items, key_suffix=f":again-{uuid.uuid4().hex[:12]}")
    return len(items)


async def _mark_finished(
    services: Services,
    tenant_id: uuid.UUID,
    by_id: dict[uuid.UUID, Document],
    remaining: dict[uuid.UUID, int],
) -> None:
    """Documents with every chunk embedded become INDEXED; the others show their progress."""
    finished = [(doc_id, by_id[doc_id].version) for doc_id, left in remaining.items() if left == 0]
    for doc_id, _ in finished:
        del remaining[doc_id]
    async with services.database.transaction() as session:
        await _set_status(session, tenant_id, finished, DocumentStatus.INDEXED)
        progressing = [doc_id for doc_id in remaining if remaining[doc_id] < by_id[doc_id].chunk_count]
        if progressing:
            progress = [
                PROGRESS[DocumentStatus.EMBEDDING]
                + int(55 * (by_id[d].chunk_count - remaining[d]) / max(1, by_id[d].chunk_count))
                for d in progressing
            ]
            await DocumentRepo(session, tenant_id).update_each(progressing, {"progress": progress})
    for doc_id, _ in finished:
        await _drop_old_files(services, by_id[doc_id])


async def _embed_batch(
    services: Services, tenant_id: uuid.UUID, by_id: dict[uuid.UUID, Document], batch: Sequence[Chunk]
) -> None:
    """Vectors of the tenant's active model; if a model switch completed meanwhile, again with the new one."""
    titles = {doc_id: document.title for doc_id, document in by_id.items()}
    for _ in range(MODEL_CHANGE_RETRIES):
        async with services.database.transaction() as session:
            embedder = await tenant_embedder(services, session, tenant_id)
        vectors = await cached_vectors(services, tenant_id, embedder, batch, titles)
        async with services.database.transaction() as session:
            # Held until the vectors are written: the switch's final transaction waits for it.
            if (await hold_tenant_embedder(services, session, tenant_id)).model == embedder.model:
                await services.vector_store.upsert(
                    vector_records(tenant_id, batch, vectors), model=embedder.model
                )
                return
    raise EmbeddingError("The tenant's embedding model kept changing; the job will retry.")


async def cached_vectors(
    services: Services,
    tenant_id: uuid.UUID,
    embedder: Embedder,
    chunks: Sequence[Chunk],
    titles: Mapping[uuid.UUID, str],
) -> dict[str, list[float]]:
    """The chunks' vectors by content hash: from the tenant's cache, the missing ones computed and cached."""
    async with services.database.transaction() as session:
        cache = EmbeddingCacheRepo(session, tenant_id)
        vectors = await cache.lookup(embedder.model, [chunk.content_hash for chunk in chunks])
        missing = {chunk.content_hash: chunk for chunk in chunks if chunk.content_hash not in vectors}
        if missing:
            inputs = [
                embedding_input(titles[c.document_id], c.heading_path, c.text) for c in missing.values()
            ]
            fresh = dict(zip(missing, await embedder.embed_passages(inputs), strict=True))
            await cache.store(embedder.model, fresh)
            vectors |= fresh
    return vectors


def vector_records(
    tenant_id: uuid.UUID, chunks: Sequence[Chunk], vectors: Mapping[str, list[float]]
) -> list[VectorRecord]:
    return [
        VectorRecord(
            chunk_id=chunk.id,
            tenant_id=tenant_id,
            knowledge_base_id=chunk.knowledge_base_id,
            document_id=chunk.document_id,
            vector=vectors[chunk.content_hash],
        )
        for chunk in chunks
    ]


async def _drop_old_files(services: Services, document: Document) -> None:
    """Keep only the stored version the document points at."""
    if document.file_path is None:
        return
    keep = document.file_path.split("/")[2]
    prefix = f"{document.tenant_id}/{document.id}"
    for version_dir in await services.files.list_dirs(prefix):
        if version_dir != keep:
            await services.files.delete_prefix(f"{prefix}/{version_dir}")


# -- upkeep -------------------------------------------------------------------------------------


async def recover_stalled(services: Services) -> int:
    """Re-send the job of every document stuck in a stage (a lost enqueue, a crash); returns how many."""
    cutoff = utcnow() - timedelta(seconds=STALL_SECONDS)
    async with services.database.transaction() as session:
        stalled = await scan_across_tenants(
            session, Document, Document.status.in_(ACTIVE_STATUSES), Document.updated_at < cutoff
        )
    for document in stalled:
        task_name = EMBED_TASK if document.status == DocumentStatus.EMBEDDING else PROCESS_TASK
        item = [(document.id, document.version)]
        prefix = "embed" if task_name == EMBED_TASK else "process"
        await services.queues.enqueue(
            task_name, key=job_key(prefix, item), **job_kwargs(document.tenant_id, item)
        )
    return len(stalled)


async def purge_document(services: Services, tenant_id: uuid.UUID, document_id: uuid.UUID) -> str:
    """Remove a deleted document's vectors and files (idempotent)."""
    await services.vector_store.delete_documents(tenant_id, [document_id])
    await services.files.delete_prefix(f"{tenant_id}/{document_id}")
    return "purged"
