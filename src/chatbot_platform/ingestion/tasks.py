"""Ingestion jobs: `ingestion` queue for parsing and chunking, `embeddings` for vectors."""

from __future__ import annotations

import uuid
from typing import Any

from saq.job import Job

from chatbot_platform.ingestion import pipeline
from chatbot_platform.kit.jobs import JobContext, task
from chatbot_platform.models import DocumentStatus

MAX_REASON_CHARS = 500


def parse_items(raw: list[list[Any]]) -> list[pipeline.Item]:
    return [(uuid.UUID(str(document_id)), int(version)) for document_id, version in raw]


async def _mark_failed(ctx: JobContext, job: Job) -> None:
    """After the last try: the documents show why they failed instead of staying in progress."""
    kwargs = job.kwargs or {}
    last_line = (job.error or "unknown error").strip().splitlines()[-1][:MAX_REASON_CHARS]
    reason = f"Processing failed after {job.attempts} attempts: {last_line}"
    await pipeline.set_status(
        ctx["services"],
        uuid.UUID(str(kwargs["tenant_id"])),
        parse_items(kwargs["items"]),
        DocumentStatus.FAILED,
        progress=0,
        error=reason,
    )


@task(pipeline.PROCESS_TASK, queue="ingestion", timeout_setting="ingestion_timeout", on_failure=_mark_failed)
async def process_documents(ctx: JobContext, *, tenant_id: str, items: list[list[Any]]) -> str:
    return await pipeline.process_documents(ctx["services"], uuid.UUID(tenant_id), parse_items(items))


@task(pipeline.EMBED_TASK, queue="embeddings", timeout_setting="embedding_timeout", on_failure=_mark_failed)
async def embed_documents(ctx: JobContext, *, tenant_id: str, items: list[list[Any]]) -> str:
    return await pipeline.embed_documents(ctx["services"], uuid.UUID(tenant_id), parse_items(items))


@task("ingestion.purge_document", queue="default")
async def purge_document(ctx: JobContext, *, tenant_id: str, document_id: str) -> str:
    return await pipeline.purge_document(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(document_id))
