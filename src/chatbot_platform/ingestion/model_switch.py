"""Changing a tenant's embedding model: re-embed every chunk in the background, then switch at once.

`request_switch` (PATCH /api/v1/tenants/{id}, `cbp tenant embedding-model`) records the target
on the tenant and queues `ingestion.switch_embedding_model` on the `embeddings` queue. The job:

1. **Re-embeds.** It walks the tenant's chunks in id order, a page at a time. Each page's
   vectors of the target model come from the tenant's embedding cache or are computed and cached,
   so a retried or resumed job computes nothing twice; the vector store stages them (Milvus writes
   them beside the old model's, pgvector waits for step 2); the progress is saved. A job that has
   run for half its timeout queues its continuation from where it stopped, so no tenant is too
   large for one job. Searches and ingestion keep using the old model meanwhile.
2. **Switches** in one transaction: it waits for the tenant's model lock, which every writer of
   vectors holds shared from reading the model until its vectors are written
   (embeddings/tenant.py), so no vector of the old model lands afterwards; it checks the switch
   is still the tenant's; the store makes the new vectors current (pgvector rewrites every chunk
   from the cache here); the target becomes the active model.
3. **Reconciles**: vectors of models no longer in use are deleted, and documents with chunks that
   have no vector of the new model (ingested during the switch) get their embedding job again.

A request during a switch *replaces* its target, or cancels the switch when it names the active
model: the running job notices at its next page, stops and deletes what it staged, while the
vectors it cached stay in the cache for a later switch. A job that fails for good marks the switch
failed with the reason, and the old model stays active.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import load_only

from chatbot_platform.embeddings.base import Embedder, EmbeddingModelUnavailable
from chatbot_platform.embeddings.tenant import active_model, lock_tenant_model
from chatbot_platform.ingestion import pipeline
from chatbot_platform.ingestion.repository import ChunkRepo, DocumentRepo
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.models import Chunk, Document
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.errors import TenantNotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from chatbot_platform.models import Tenant
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)

SWITCH_TASK = "ingestion.switch_embedding_model"
SWITCH_BATCH = 256
MAX_REASON_CHARS = 500
_PAGE_COLUMNS = (
    Chunk.id,
    Chunk.document_id,
    Chunk.knowledge_base_id,
    Chunk.heading_path,
    Chunk.text,
    Chunk.content_hash,
)


@dataclass(frozen=True)
class Cursor:
    """Where a job resumes: after this chunk id, with `done` chunks re-embedded before it."""

    after: uuid.UUID | None = None
    done: int = 0


@dataclass(frozen=True)
class Page:
    last: uuid.UUID
    chunks: list[Chunk]
    titles: dict[uuid.UUID, str]


async def request_switch(session: AsyncSession, services: Services, tenant_id: uuid.UUID, model: str) -> None:
    """Record a change of the tenant's embedding model to `model`; its job is queued after commit."""
    switch_id = await tenants.request_embedding_model(
        session, tenant_id, model, default_model=services.embedder.model, offered=services.embedding_models()
    )
    if switch_id is not None:
        enqueue_switch(session, tenant_id, switch_id)


def enqueue_switch(
    session: AsyncSession, tenant_id: uuid.UUID, switch_id: uuid.UUID, cursor: Cursor | None = None
) -> None:
    cursor = cursor or Cursor()
    enqueue_after_commit(
        session,
        SWITCH_TASK,
        key=f"switch:{tenant_id}:{switch_id}:{cursor.after or 'start'}",
        tenant_id=str(tenant_id),
        switch_id=str(switch_id),
        after=str(cursor.after) if cursor.after else None,
        done=cursor.done,
    )


async def run_switch(
    services: Services,
    tenant_id: uuid.UUID,
    switch_id: uuid.UUID,
    cursor: Cursor | None = None,
    *,
    batch: int = SWITCH_BATCH,
    slice_seconds: float | None = None,
) -> str:
    """The job: re-embed from `cursor`, then switch and reconcile. Returns what happened."""
    target = await _target(services, tenant_id, switch_id)
    if target is None:
        await reconcile(services, tenant_id)
        return "superseded"
    if isinstance(target, EmbeddingModelUnavailable):
        await fail_switch(services, tenant_id, switch_id, str(target))
        return "failed"
    seconds = services.settings.queue.embedding_timeout / 2 if slice_seconds is None else slice_seconds
    outcome = await reembed(
        services, tenant_id, switch_id, target, cursor or Cursor(), batch, time.monotonic() + seconds
    )
    if outcome == "embedded":
        outcome = "switched" if await switch(services, tenant_id, switch_id, target.model) else "superseded"
    if outcome != "continued":
        await reconcile(services, tenant_id)
    return outcome


async def _target(
    services: Services, tenant_id: uuid.UUID, switch_id: uuid.UUID
) -> Embedder | EmbeddingModelUnavailable | None:
    """The target's embedder once the switch is marked as re-embedding; None if it was replaced."""
    async with services.database.transaction() as session:
        if not await tenants.start_embedding_switch(session, tenant_id, switch_id):
            return None
        tenant = await tenants.get_tenant_fresh(session, tenant_id)
    if tenant.embedding_switch_model is None:
        return None
    try:
        return services.embedder_for(tenant.embedding_switch_model)
    except EmbeddingModelUnavailable as exc:
        return exc


async def reembed(
    services: Services,
    tenant_id: uuid.UUID,
    switch_id: uuid.UUID,
    target: Embedder,
    cursor: Cursor,
    batch: int,
    deadline: float,
) -> str:
    """Step 1: "embedded" when every chunk is done, "continued" or "superseded" when stopped early."""
    total = await _chunk_count(services, tenant_id)
    while page := await _page(services, tenant_id, cursor.after, batch):
        vectors = await pipeline.cached_vectors(services, tenant_id, target, page.chunks, page.titles)
        records = pipeline.vector_records(tenant_id, page.chunks, vectors)
        await services.vector_store.stage(records, model=target.model)
        cursor = Cursor(page.last, cursor.done + len(page.chunks))
        async with services.database.transaction() as session:
            progress = cursor.done * 100 // max(total, cursor.done, 1)
            if not await tenants.save_switch_progress(session, tenant_id, switch_id, progress):
                return "superseded"
            if time.monotonic() > deadline:
                enqueue_switch(session, tenant_id, switch_id, cursor)
                return "continued"
    return "embedded"


async def _chunk_count(services: Services, tenant_id: uuid.UUID) -> int:
    async with services.database.transaction() as session:
        return await ChunkRepo(session, tenant_id).count()


async def _page(services: Services, tenant_id: uuid.UUID, after: uuid.UUID | None, size: int) -> Page | None:
    """The next chunks by id with their documents' titles (a chunk whose document just went is dropped)."""
    async with services.database.transaction() as session:
        where = [Chunk.id > after] if after is not None else []
        chunks = await ChunkRepo(session, tenant_id).list(
            *where, order_by=[Chunk.id], limit=size, options=[load_only(*_PAGE_COLUMNS)]
        )
        if not chunks:
            return None
        documents = await DocumentRepo(session, tenant_id).list(
            Document.id.in_({c.document_id for c in chunks}), options=[load_only(Document.id, Document.title)]
        )
    titles = {d.id: d.title for d in documents}
    return Page(chunks[-1].id, [c for c in chunks if c.document_id in titles], titles)


async def switch(services: Services, tenant_id: uuid.UUID, switch_id: uuid.UUID, model: str) -> bool:
    """Step 2, one transaction: the target becomes the active model. False if the switch was replaced."""
    async with services.database.transaction() as session:
        await lock_tenant_model(session, tenant_id)
        tenant = await tenants.get_tenant_fresh(session, tenant_id, lock=True)
        if tenant.embedding_switch_id != switch_id or not tenant.switching_embedding_model:
            return False
        await services.vector_store.switch(session, tenant_id, model)
        await tenants.complete_embedding_switch(session, tenant)
    log.info("embedding model switched", extra={"tenant_id": str(tenant_id), "model": model})
    return True


def models_in_use(services: Services, tenant: Tenant) -> list[str]:
    """The active model, and the target of a switch in progress: their vectors must stay."""
    models = [active_model(services, tenant)]
    if tenant.switching_embedding_model and tenant.embedding_switch_model:
        models.append(tenant.embedding_switch_model)
    return models


async def reconcile(services: Services, tenant_id: uuid.UUID) -> int:
    """Step 3: delete vectors of models out of use, re-queue documents the active model misses.

    Returns how many documents were re-queued. The tenant row stays locked while the store is
    pruned, so a new switch cannot start staging vectors that the prune would delete. A tenant
    deleted meanwhile has nothing left to reconcile.
    """
    async with services.database.transaction() as session:
        try:
            tenant = await tenants.get_tenant_fresh(session, tenant_id, lock=True)
        except TenantNotFound:
            return 0
        keep = models_in_use(services, tenant)
        await services.vector_store.prune_models(tenant_id, keep)
    # Vectors first, chunks second: a chunk deleted in between is then an orphan, and a chunk
    # added in between merely gets re-queued, while the other order could delete a good vector.
    have = await services.vector_store.chunk_ids(tenant_id, model=keep[0])
    async with services.database.transaction() as session:
        rows = await ChunkRepo(session, tenant_id).values(Chunk.id, Chunk.document_id)
        missing = {row.document_id for row in rows if row.id not in have}
        requeued = await pipeline.requeue_embedding(session, tenant_id, sorted(missing))
    orphans = have - {row.id for row in rows}
    await services.vector_store.delete_chunks(tenant_id, sorted(orphans))
    return requeued


async def fail_switch(services: Services, tenant_id: uuid.UUID, switch_id: uuid.UUID, reason: str) -> None:
    """The switch gives up: it shows the reason, the old model stays, staged vectors are deleted."""
    async with services.database.transaction() as session:
        failed = await tenants.fail_embedding_switch(session, tenant_id, switch_id, reason[:MAX_REASON_CHARS])
    if failed:
        log.warning("embedding model switch failed", extra={"tenant_id": str(tenant_id), "reason": reason})
    await reconcile(services, tenant_id)
