"""Ingestion jobs: `ingestion` queue for parsing and chunking, `embeddings` for vectors."""

from __future__ import annotations

import uuid
from typing import Any

from saq.job import Job

from chatbot_platform.ingestion import pipeline
from chatbot_platform.kit.jobs import JobContext, task
from chatbot_platform.models import DocumentStatus

MAX_REASON_CHARS = 500


def _ids(kwargs: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.UUID(str(kwargs["tenant_id"])), uuid.UUID(str(kwargs["document_id"]))


async def _mark_failed(ctx: JobContext, job: Job) -> None:
    """After the last try: the document shows why it failed instead of staying in progress."""
    tenant_id, document_id = _ids(job.kwargs or {})
    last_line = (job.error or "unknown error").strip().splitlines()[-1][:MAX_REASON_CHARS]
    reason = f"Processing failed after {job.attempts} attempts: {last_line}"
    await pipeline.set_status(
        ctx["services"],
        tenant_id,
        document_id,
        int((job.kwargs or {})["version"]),
        DocumentStatus.FAILED,
        progress=0,
        error=reason,
    )


@task(
    "ingestion.process_document",
    queue="ingestion",
    timeout_setting="ingestion_timeout",
    on_failure=_mark_failed,
)
async def process_document(ctx: JobContext, *, tenant_id: str, document_id: str, version: int) -> str:
    return await pipeline.process_document(
        ctx["services"], uuid.UUID(tenant_id), uuid.UUID(document_id), version
    )


@task(
    "ingestion.embed_document",
    queue="embeddings",
    timeout_setting="embedding_timeout",
    on_failure=_mark_failed,
)
async def embed_document(ctx: JobContext, *, tenant_id: str, document_id: str, version: int) -> str:
    return await pipeline.embed_document(
        ctx["services"], uuid.UUID(tenant_id), uuid.UUID(document_id), version
    )


@task("ingestion.purge_document", queue="default")
async def purge_document(ctx: JobContext, *, tenant_id: str, document_id: str) -> str:
    return await pipeline.purge_document(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(document_id))
