"""`cbp ingest` and `cbp kb audit`: bulk ingestion from disk and the orphan audit."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from chatbot_platform.ingestion import service
from chatbot_platform.ingestion.repository import ChunkRepo, DocumentRepo
from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit
from chatbot_platform.kit.repository import owner_of
from chatbot_platform.models import Document, DocumentSource, DocumentStatus, KnowledgeBase

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

kb_app = typer.Typer(help="Knowledge-base maintenance.", no_args_is_help=True)
POLL_SECONDS = 0.5
TERMINAL = (DocumentStatus.INDEXED, DocumentStatus.FAILED)


def collect_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, external id) pairs: folders are walked, hidden files skipped, ids are relative paths."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in file.relative_to(path).parts):
                    found.append((file, f"{path.name}/{file.relative_to(path).as_posix()}"))
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise fail(f"{path} does not exist", 2)
    return found


@dataclass
class Outcome:
    name: str
    document_id: uuid.UUID | None = None
    status: str = "pending"
    error: str | None = None


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    kb: Annotated[str, typer.Option(help="Target knowledge base id.")],
) -> None:
    """Ingest files and folders into a knowledge base, showing progress; re-running skips unchanged files."""
    try:
        kb_id = uuid.UUID(kb)
    except ValueError:
        raise fail(f"--kb must be a knowledge base id (UUID), got {kb!r}", 2) from None
    files = collect_files(paths)
    if not files:
        raise fail("no files to ingest", 2)
    outcomes = run_async(_ingest(files, kb_id))
    print_summary(outcomes)
    if any(o.status == DocumentStatus.FAILED for o in outcomes):
        raise typer.Exit(1)


async def _ingest(files: list[tuple[Path, str]], kb_id: uuid.UUID) -> list[Outcome]:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.runtime import Services

    settings = settings_or_exit()
    database = await Database.open(settings)
    services = await Services.start(settings, database, worker_queues=("ingestion", "embeddings"))
    try:
        async with database.transaction() as session:
            tenant_id = await owner_of(session, KnowledgeBase, kb_id)
        if tenant_id is None:
            raise fail(f"knowledge base {kb_id} not found")
        outcomes = [
            await _submit(services, tenant_id, kb_id, file, external_id) for file, external_id in files
        ]
        await follow(services, tenant_id, outcomes)
        return outcomes
    finally:
        await services.close()
        await database.close()


async def _submit(
    services: Services, tenant_id: uuid.UUID, kb_id: uuid.UUID, file: Path, external_id: str
) -> Outcome:
    outcome = Outcome(name=external_id)
    data = await asyncio.to_thread(file.read_bytes)
    limit = services.settings.storage.upload_max_mb * 1024 * 1024
    if not data or len(data) > limit:
        outcome.status, outcome.error = DocumentStatus.FAILED, "empty file" if not data else "file too large"
        return outcome
    async with services.database.transaction() as session:
        accepted = await service.accept(
            session,
            services.files,
            tenant_id,
            knowledge_base_id=kb_id,
            title=file.name,
            external_id=external_id,
            content=service.Content(source=DocumentSource.UPLOAD, filename=file.name, data=data),
        )
    outcome.document_id = accepted.document.id
    outcome.status = "unchanged" if accepted.unchanged else accepted.document.status
    return outcome


async def follow(services: Services, tenant_id: uuid.UUID, outcomes: list[Outcome]) -> None:
    """Wait, with a progress bar, until every submitted document is indexed or failed."""
    waiting = {
        o.document_id: o for o in outcomes if o.document_id and o.status not in ("unchanged", *TERMINAL)
    }
    columns = (TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=False) as progress:
        bar = progress.add_task("ingest", total=len(outcomes), completed=len(outcomes) - len(waiting))
        while waiting:
            await asyncio.sleep(POLL_SECONDS)
            async with services.database.transaction() as session:
                rows = await DocumentRepo(session, tenant_id).list(Document.id.in_(list(waiting)))
            for row in rows:
                if row.status in TERMINAL:
                    outcome = waiting.pop(row.id)
                    outcome.status, outcome.error = row.status, row.error
                    progress.advance(bar)


def print_summary(outcomes: list[Outcome]) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[str(outcome.status)] = counts.get(str(outcome.status), 0) + 1
    out.print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    failed = [o for o in outcomes if o.status == DocumentStatus.FAILED]
    if failed:
        table = Table("file", "reason", title="Failed")
        for outcome in failed:
            table.add_row(outcome.name, outcome.error or "")
        out.print(table)


@kb_app.command("audit")
def audit(
    fix: Annotated[bool, typer.Option(help="Remove orphans and re-embed what is missing.")] = False,
) -> None:
    """Prove that chunks, vectors and files agree for every tenant (no orphans)."""
    findings = run_async(_audit(fix))
    table = Table("tenant", "orphan vectors", "chunks without vectors", "orphan files")
    for tenant, orphan_vectors, missing, orphan_files in findings:
        table.add_row(tenant, str(orphan_vectors), str(missing), str(orphan_files))
    out.print(table)
    clean = all(sum(row[1:]) == 0 for row in findings)
    out.print("no orphans" if clean else ("fixed" if fix else "run with --fix to repair"))
    if not clean and not fix:
        raise typer.Exit(1)


async def _audit(fix: bool) -> list[tuple[str, int, int, int]]:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.runtime import Services
    from chatbot_platform.tenants import service as tenants

    settings = settings_or_exit()
    database = await Database.open(settings)
    services = await Services.start(settings, database)
    try:
        async with database.transaction() as session:
            all_tenants, _ = await tenants.list_tenants(session, limit=1_000_000, offset=0)
        return [await _audit_tenant(services, t.id, fix) for t in all_tenants]
    finally:
        await services.close()
        await database.close()


async def _audit_tenant(services: Services, tenant_id: uuid.UUID, fix: bool) -> tuple[str, int, int, int]:
    from chatbot_platform.embeddings.tenant import active_model
    from chatbot_platform.ingestion import pipeline
    from chatbot_platform.tenants import service as tenants

    async with services.database.transaction() as session:
        model = active_model(services, await tenants.get_tenant_or_raise(session, tenant_id))
        documents = await DocumentRepo(session, tenant_id).list()
        chunks = await ChunkRepo(session, tenant_id).list()
    chunk_ids = {c.id for c in chunks}
    vector_ids = await services.vector_store.chunk_ids(tenant_id)
    current_ids = await services.vector_store.chunk_ids(tenant_id, model=model)  # the active model's
    orphan_vectors = vector_ids - chunk_ids
    indexed = {d.id: d for d in documents if d.status == DocumentStatus.INDEXED}
    missing_docs = {c.document_id for c in chunks if c.document_id in indexed and c.id not in current_ids}
    known_docs = {str(d.id) for d in documents}
    orphan_dirs = [d for d in await services.files.list_dirs(str(tenant_id)) if d not in known_docs]
    if fix:
        await services.vector_store.delete_chunks(tenant_id, list(orphan_vectors))
        if missing_docs:
            items = [(doc_id, indexed[doc_id].version) for doc_id in missing_docs]
            await pipeline.embed_documents(services, tenant_id, items)
        for directory in orphan_dirs:
            await services.files.delete_prefix(f"{tenant_id}/{directory}")
    missing_chunks = sum(1 for c in chunks if c.document_id in missing_docs and c.id not in current_ids)
    return str(tenant_id), len(orphan_vectors), missing_chunks, len(orphan_dirs)
