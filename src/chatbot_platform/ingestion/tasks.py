"""Ingestion jobs: `ingestion` queue for parsing and chunking, `embeddings` for vectors and model switches."""

from __future__ import annotations

import uuid
from typing import Any

from saq.job import Job

from chatbot_platform.ingestion import model_switch, pipeline
from chatbot_platform.kit.jobs import JobContext, task
from chatbot_platform.models import DocumentStatus
from chatbot_platform.ops import metrics

MAX_REASON_CHARS = 500


def parse_items(raw: list[list[Any]]) -> list[pipeline.Item]:
    return [(uuid.UUID(str(document_id)), int(version)) for document_id, version in raw]


def failure_reason(job: Job, what: str) -> str:
    last_line = (job.error or "unknown error").strip().splitlines()[-1][:MAX_REASON_CHARS]
    return f"{what} failed after {job.attempts} attempts: {last_line}"


async def _mark_failed(ctx: JobContext, job: Job) -> None:
    """After the last try: the documents show why they failed instead of staying in progress."""
    kwargs = job.kwargs or {}
    reason = failure_reason(job, "Processing")
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
    with metrics.ingestion_job("process", len(items)):
        return await pipeline.process_documents(ctx["services"], uuid.UUID(tenant_id), parse_items(items))


@task(pipeline.EMBED_TASK, queue="embeddings", timeout_setting="embedding_timeout", on_failure=_mark_failed)
async def embed_documents(ctx: JobContext, *, tenant_id: str, items: list[list[Any]]) -> str:
    with metrics.ingestion_job("embed", len(items)):
        return await pipeline.embed_documents(ctx["services"], uuid.UUID(tenant_id), parse_items(items))


@task("ingestion.purge_document", queue="default")
async def purge_document(ctx: JobContext, *, tenant_id: str, document_id: str) -> str:
    return await pipeline.purge_document(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(document_id))


async def _switch_failed(ctx: JobContext, job: Job) -> None:
    """After the last try: the switch shows why it failed, and the previous model stays active."""
    kwargs = job.kwargs or {}
    await model_switch.fail_switch(
        ctx["services"],
        uuid.UUID(str(kwargs["tenant_id"])),
        uuid.UUID(str(kwargs["switch_id"])),
        failure_reason(job, "Re-embedding"),
    )


@task(
    model_switch.SWITCH_TASK,
    queue="embeddings",
    timeout_setting="embedding_timeout",
    on_failure=_switch_failed,
)
async def switch_embedding_model(
    ctx: JobContext, *, tenant_id: str, switch_id: str, after: str | None = None, done: int = 0
) -> str:
    cursor = model_switch.Cursor(uuid.UUID(after) if after else None, done)
    return await model_switch.run_switch(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(switch_id), cursor)
