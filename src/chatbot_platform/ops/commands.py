"""`cbp worker` and `cbp queue …`: run the job workers and look after the queues."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit
from chatbot_platform.kit.jobs import QUEUE_NAMES

queue_app = typer.Typer(help="Job queues and failed jobs.", no_args_is_help=True)


def _queue_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUE_NAMES))
    if unknown or not names:
        raise fail(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(QUEUE_NAMES)}", 2
        )
    return names


def worker(
    queue: Annotated[str, typer.Option(help="Comma-separated queues to work on.")] = ",".join(QUEUE_NAMES),
) -> None:
    """Run job workers (for example on a worker node: --queue ingestion,embeddings) until stopped."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.kit.logging import configure_logging
    from chatbot_platform.runtime import Services

    names = _queue_names(queue)
    settings = settings_or_exit()
    configure_logging(settings.logging.level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        database = await Database.open(settings)
        services = await Services.start(settings, database, worker_queues=names)
        out.print(f"working on {', '.join(names)}; Ctrl+C to stop")
        try:
            await stop.wait()
        finally:
            await services.close()
            await database.close()

    run_async(run())


@queue_app.command("status")
def queue_status() -> None:
    """Jobs waiting and running per queue, and failed jobs not yet retried."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.ops import failed_jobs
    from chatbot_platform.runtime import Services

    settings = settings_or_exit()

    async def run() -> list[tuple[str, int, int, int]]:
        database = await Database.open(settings)
        services = await Services.start(settings, database)
        try:
            rows = []
            async with database.transaction() as session:
                failed = await failed_jobs.list_failed(session, limit=100_000)
            for name in QUEUE_NAMES:
                queue = services.queues.queue(name)
                rows.append(
                    (
                        name,
                        await queue.count("queued"),
                        await queue.count("active"),
                        sum(1 for f in failed if f.queue == name),
                    )
                )
            return rows
        finally:
            await services.close()
            await database.close()

    table = Table("queue", "waiting", "running", "failed")
    for name, queued, active, failed in run_async(run()):
        table.add_row(name, str(queued), str(active), str(failed))
    out.print(table)


@queue_app.command("failed")
def queue_failed(queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None) -> None:
    """List failed jobs with their reason."""
    from chatbot_platform.kit.cli import with_session
    from chatbot_platform.ops import failed_jobs

    async def work(session: AsyncSession) -> list[list[str]]:
        records = await failed_jobs.list_failed(session, queue=queue)
        return [
            [
                str(r.id),
                r.queue,
                r.task,
                r.failed_at.isoformat(timespec="seconds"),
                r.error.strip().splitlines()[-1][:120],
            ]
            for r in records
        ]

    table = Table("id", "queue", "task", "failed at", "reason")
    for row in with_session(work):
        table.add_row(*row)
    out.print(table)


@queue_app.command("retry")
def queue_retry(
    job_id: Annotated[str | None, typer.Argument(help="A failed job's id (see `cbp queue failed`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retry every failed job.")] = False,
) -> None:
    """Send failed jobs again."""
    import uuid

    from chatbot_platform.kit.db import Database
    from chatbot_platform.ops import failed_jobs
    from chatbot_platform.runtime import Services

    if (job_id is None) == (not all_):
        raise fail("give a failed job id or --all", 2)
    try:
        wanted = uuid.UUID(job_id) if job_id is not None else None
    except ValueError:
        raise fail(f"{job_id!r} is not a failed job id (UUID)", 2) from None
    settings = settings_or_exit()

    async def run() -> int:
        database = await Database.open(settings)
        services = await Services.start(settings, database)
        try:
            async with database.transaction() as session:
                records = await failed_jobs.list_failed(session, limit=100_000)
                if wanted is not None:
                    records = [r for r in records if r.id == wanted]
                    if not records:
                        raise fail(f"no failed job {job_id}")
                for record in records:
                    await failed_jobs.retry(session, services.queues, record)
                return len(records)
        finally:
            await services.close()
            await database.close()

    out.print(f"retried {run_async(run())} job(s)")


@queue_app.command("flush")
def queue_flush() -> None:
    """Forget every failed job."""
    from chatbot_platform.kit.cli import with_session
    from chatbot_platform.ops import failed_jobs

    count = with_session(failed_jobs.flush)
    out.print(f"flushed {count} failed job(s)")
