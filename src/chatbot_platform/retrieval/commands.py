"""`cbp eval`: retrieval quality of a knowledge base on a BEIR-style query set."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from chatbot_platform.ingestion import pipeline
from chatbot_platform.ingestion import service as ingestion
from chatbot_platform.ingestion.commands import Outcome, follow, print_summary
from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit
from chatbot_platform.kit.errors import AppError
from chatbot_platform.kit.repository import owner_of
from chatbot_platform.models import DocumentSource, DocumentStatus, KnowledgeBase
from chatbot_platform.retrieval import evaluation
from chatbot_platform.retrieval.schemas import SearchRequest
from chatbot_platform.retrieval.search import search

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MODES = ("hybrid", "fulltext", "vector")
BATCH = 200


def eval_command(
    kb: Annotated[str, typer.Option(help="Knowledge base id to search.")],
    queries: Annotated[Path, typer.Option(help="Queries, JSON lines with _id and text.", exists=True)],
    qrels: Annotated[Path, typer.Option(help="Judgements, TSV: query-id, corpus-id, score.", exists=True)],
    corpus: Annotated[
        Path | None,
        typer.Option(help="Ingest this JSON-lines corpus (_id, title, text) first.", exists=True),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Evaluate at most this many queries.")] = 100000,
) -> None:
    """nDCG@10, Recall@10, MRR@10 and latency of the full pipeline and of each leg alone."""
    try:
        kb_id = uuid.UUID(kb)
    except ValueError:
        raise fail(f"--kb must be a knowledge base id (UUID), got {kb!r}", 2) from None
    try:
        questions = evaluation.load_queries(queries)
        judged = dict(list(evaluation.load_qrels(qrels).items())[:limit])
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read the query set: {exc}", 2) from None
    if not judged:
        raise fail("the qrels file judges no query", 2)
    reports = run_async(_eval(kb_id, questions, judged, corpus))
    table = Table(*evaluation.HEADERS, title=f"Retrieval quality, knowledge base {kb_id}")
    for report in reports:
        table.add_row(*report.row())
    out.print(table)


async def _eval(
    kb_id: uuid.UUID, queries: dict[str, str], qrels: evaluation.Qrels, corpus: Path | None
) -> list[evaluation.Report]:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.runtime import Services

    settings = settings_or_exit()
    database = await Database.open(settings)
    workers = ("ingestion", "embeddings") if corpus else ()
    services = await Services.start(settings, database, worker_queues=workers)
    try:
        async with database.transaction() as session:
            tenant_id = await owner_of(session, KnowledgeBase, kb_id)
        if tenant_id is None:
            raise fail(f"knowledge base {kb_id} not found")
        if corpus is not None:
            await _ingest_corpus(services, tenant_id, kb_id, corpus)
        reports = []
        for mode in MODES:

            async def run(query: str, mode: str = mode) -> list[str | None]:
                request = SearchRequest(query=query, knowledge_base_ids=[kb_id], mode=mode)
                response = await search(services, tenant_id, request, use_cache=False)
                return [r.external_id for r in response.results]

            reports.append(await evaluation.evaluate(mode, queries, qrels, run))
        return reports
    finally:
        await services.close()
        await database.close()


async def _ingest_corpus(services: Services, tenant_id: uuid.UUID, kb_id: uuid.UUID, corpus: Path) -> None:
    """Submit the corpus as text documents (external id = `_id`) in batches, then wait like `cbp ingest`."""
    lines = (await asyncio.to_thread(corpus.read_text, encoding="utf-8")).splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    outcomes: list[Outcome] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        items = [
            ingestion.NewDocument(
                knowledge_base_id=kb_id,
                title=str(row.get("title") or row["_id"]),
                external_id=str(row["_id"]),
                content=_text(str(row["text"])),
            )
            for row in batch
        ]
        async with services.database.transaction() as session:
            accepted = await ingestion.accept_many(session, services.files, tenant_id, items)
            fresh = [a.document for a in accepted if isinstance(a, ingestion.Accepted) and not a.unchanged]
            if fresh:
                queued = [(d.id, d.version) for d in fresh]
                pipeline.enqueue(session, pipeline.PROCESS_TASK, tenant_id, queued)
        outcomes += [_outcome(row, result) for row, result in zip(batch, accepted, strict=True)]
    await follow(services, tenant_id, outcomes)
    print_summary(outcomes)


def _outcome(row: dict[str, object], result: ingestion.Accepted | AppError) -> Outcome:
    if isinstance(result, AppError):
        return Outcome(name=str(row["_id"]), status=DocumentStatus.FAILED, error=result.message)
    status = "unchanged" if result.unchanged else result.document.status
    return Outcome(name=str(row["_id"]), document_id=result.document.id, status=status)


def _text(value: str) -> ingestion.Content:
    return ingestion.Content(
        source=DocumentSource.API_TEXT, filename=ingestion.TEXT_FILENAME, data=value.encode()
    )
