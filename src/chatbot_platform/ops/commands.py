"""`cbp worker`, `cbp queue …`, `cbp cache clear`, `cbp down|up`, `cbp backup|restore`."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit
from chatbot_platform.kit.jobs import QUEUE_NAMES
from chatbot_platform.kit.storage import FileStore
from chatbot_platform.settings import Settings

if TYPE_CHECKING:
    from chatbot_platform.kit.db import Database

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
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve this process's Prometheus metrics on 127.0.0.1:PORT."),
    ] = None,
) -> None:
    """Run job workers (for example on a worker node: --queue ingestion,embeddings) until stopped."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.ops.observability import setup_observability
    from chatbot_platform.runtime import Services

    names = _queue_names(queue)
    settings = settings_or_exit()
    setup_observability(settings)
    if metrics_port is not None:
        from chatbot_platform.ops.metrics import serve_worker_metrics

        serve_worker_metrics(metrics_port)

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


@queue_app.command("monitor")
def queue_monitor(
    max_jobs: Annotated[
        int, typer.Option("--max", min=0, help="Alert when a queue holds more waiting jobs.")
    ] = 100,
    queue: Annotated[str | None, typer.Option(help="Comma-separated queues (default: all).")] = None,
    watch: Annotated[float | None, typer.Option(min=1.0, help="Check again every this many seconds.")] = None,
) -> None:
    """Waiting jobs, workers and the oldest wait per queue; alerts (exit 1) when one is over --max."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.ops.observability import setup_observability
    from chatbot_platform.ops.queues import QueueState, snapshot_with_failed
    from chatbot_platform.runtime import Services

    names = _queue_names(queue) if queue else list(QUEUE_NAMES)
    settings = settings_or_exit()
    sender = setup_observability(settings, stream=sys.stderr)

    def show(states: list[QueueState]) -> list[str]:
        table = Table("queue", "waiting", "running", "workers", "oldest wait (s)", "failed", "status")
        busy = []
        for state in states:
            over = state.waiting > max_jobs
            if over:
                busy.append(state.name)
            oldest = "" if state.oldest_waiting_seconds is None else f"{state.oldest_waiting_seconds:g}"
            table.add_row(
                state.name,
                str(state.waiting),
                str(state.running),
                str(state.workers),
                oldest,
                str(state.failed),
                "BUSY" if over else "OK",
            )
        out.print(table)
        return busy

    async def run() -> list[str]:
        database = await Database.open(settings)
        services = await Services.start(settings, database)
        try:
            while True:
                states = [s for s in await snapshot_with_failed(services.queues, database) if s.name in names]
                busy = show(states)
                for name in busy:
                    logging.getLogger("chatbot_platform.ops.queues").error(
                        "queue busy", extra={"queue": name, "max": max_jobs}
                    )
                if watch is None:
                    return busy
                await asyncio.sleep(watch)
        finally:
            await services.close()
            await database.close()

    busy = run_async(run())
    if sender is not None:
        sender.flush()
    if busy:
        raise typer.Exit(1)


# -- cache ------------------------------------------------------------------------------------------

cache_app = typer.Typer(help="The shared cache.", no_args_is_help=True)


@cache_app.command("clear")
def cache_clear() -> None:
    """Empty the cache (CACHE_PREFIX in REDIS_CACHE_DATABASE); maintenance and admin sessions stay."""
    from chatbot_platform.ops.cache import clear_cache

    settings = settings_or_exit()
    if not settings.redis.enabled:
        out.print("no shared cache configured (REDIS_HOST unset): each process's cache expires on its own")
        return
    out.print(f"cleared {run_async(clear_cache(settings))} cached entries")


# -- maintenance mode ------------------------------------------------------------------------------


def down(
    secret: Annotated[
        str | None, typer.Option(help="Visiting /SECRET sets a cookie that bypasses maintenance.")
    ] = None,
    with_secret: Annotated[bool, typer.Option("--with-secret", help="Generate the bypass secret.")] = False,
    retry: Annotated[int | None, typer.Option(min=1, help="Retry-After seconds sent with the 503.")] = None,
    refresh: Annotated[
        int | None, typer.Option(min=1, help="Ask browsers to reload after this many seconds.")
    ] = None,
) -> None:
    """Put the platform in maintenance mode: 503 for every request except bypass-secret holders."""
    from chatbot_platform.kit.security import new_token
    from chatbot_platform.ops.maintenance import MaintenanceState, open_store

    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,200}", secret):
        raise fail("--secret must be 8-200 letters, digits, '-' or '_' (it becomes a URL path)", 2)
    if with_secret and secret is None:
        secret = new_token(24)
    settings = settings_or_exit()
    state = MaintenanceState.new(secret=secret, retry=retry, refresh=refresh)

    async def run() -> str:
        store = await open_store(settings)
        try:
            await store.put(state)
            return store.name
        finally:
            await store.close()

    where = run_async(run())
    out.print(f"application is now in maintenance mode ({where})", highlight=False)
    if secret:
        out.print(f"bypass: {settings.app.url.rstrip('/')}/{secret}", highlight=False)


def up() -> None:
    """Leave maintenance mode."""
    from chatbot_platform.ops.maintenance import open_store

    settings = settings_or_exit()

    async def run() -> bool:
        store = await open_store(settings)
        try:
            was_down = await store.get() is not None
            await store.clear()
            return was_down
        finally:
            await store.close()

    out.print("application is now live" if run_async(run()) else "application was not in maintenance mode")


# -- backups ---------------------------------------------------------------------------------------

backup_app = typer.Typer(
    help="Back up the database and stored files (`cbp backup`), or list backups (`cbp backup list`).",
    invoke_without_command=True,
)


@backup_app.callback()
def backup(ctx: typer.Context) -> None:
    """Dump the database and the stored files into one archive (local folder or BACKUP_S3_BUCKET)."""
    if ctx.invoked_subcommand is not None:
        return
    from chatbot_platform.ops.backup import BackupError, create_backup

    settings = settings_or_exit()

    async def run() -> Any:
        async with _services(settings) as services:
            with out.status("backing up…") as status:
                return await create_backup(
                    settings, services.database, services.files, progress=status.update
                )

    try:
        result = run_async(run())
    except BackupError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"backup {result.name}: {result.tables} tables, {result.rows} rows, {result.files} files, "
        f"{result.size / 1_048_576:.1f} MiB in {result.location}",
        highlight=False,
    )
    for name in result.pruned:
        out.print(f"deleted {name} (older than BACKUP_RETENTION_DAYS={settings.backup.retention_days})")


@backup_app.command("list")
def backup_list() -> None:
    """The backups kept, oldest first."""
    from chatbot_platform.ops.backup import backup_target

    target = backup_target(settings_or_exit())
    table = Table("name", "created (UTC)", "size (MiB)", title=f"Backups in {target.location}")
    for info in target.list():
        table.add_row(
            info.name, info.created_at.strftime("%Y-%m-%d %H:%M:%S"), f"{info.size / 1_048_576:.2f}"
        )
    out.print(table)


def restore(
    archive: Annotated[
        str, typer.Argument(help="An archive file, or a backup's name from `cbp backup list`.")
    ],
) -> None:
    """Restore a backup into an empty database (and its files), then verify every table's row count."""
    from chatbot_platform.ops.backup import BackupError, fetched, restore_backup

    settings = settings_or_exit()

    async def run(path: Path) -> Any:
        async with _services(settings) as services:
            with out.status("restoring…") as status:
                return await restore_backup(services.database, services.files, path, progress=status.update)

    try:
        with fetched(settings, archive) as path:
            result = run_async(run(path))
    except BackupError as exc:
        raise fail(str(exc)) from None
    if not result.verified:
        table = Table("table", "in the backup", "restored", title="Verification failed")
        for name, (expected, found) in result.mismatches.items():
            table.add_row(name, str(expected), str(found))
        out.print(table)
        raise typer.Exit(1)
    out.print(
        f"restored {result.name}: {result.tables} tables, {result.rows} rows, {result.files} files; verified",
        highlight=False,
    )


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[_Storage]:
    """Only the database and the file store: a restore must not let the queues create their tables."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.kit.storage import build_file_store

    database = await Database.open(settings)
    try:
        yield _Storage(database, build_file_store(settings))
    finally:
        await database.close()


@dataclass
class _Storage:
    database: Database
    files: FileStore
