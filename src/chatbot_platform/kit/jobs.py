"""Job queues on SAQ: PostgreSQL by default, Redis with QUEUE_CONNECTION=redis.

Rules (house style 3): jobs are enqueued only after the request's transaction commits, they
receive ids and reload state, and running one twice does no harm. Tasks register here with the
queue they run on; a job that uses up its tries leaves a FailedJob row with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from saq import Queue
from saq import Worker as SaqWorker
from saq.job import Job, Status
from saq.types import Context, PartialTimersDict
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.context import request_id_var, tenant_id_var
from chatbot_platform.kit.errors import DatabaseUnavailable
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30  # a job not touched for this long belongs to a dead worker and is retried


class Worker(SaqWorker["JobContext"]):
    """SAQ's worker without its own signal handlers: the server or `cbp worker` owns the signals."""

    SIGNALS = []  # noqa: RUF012


QUEUE_NAMES = ("default", "ingestion", "embeddings", "scraping")


class JobContext(Context, total=False):
    """What a task receives: SAQ's context plus the process's services (set at worker start-up)."""

    services: Any


TaskFn = Callable[..., Awaitable[Any]]
FailureHook = Callable[[JobContext, Job], Awaitable[None]]
AFTER_COMMIT_KEY = "cbp_after_commit_jobs"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    queue: str
    fn: TaskFn
    timeout_setting: str | None = None  # a QueueSettings field name, e.g. "ingestion_timeout"
    retries: int = 3
    on_failure: FailureHook | None = None


TASKS: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    queue: str,
    timeout_setting: str | None = None,
    retries: int = 3,
    on_failure: FailureHook | None = None,
) -> Callable[[TaskFn], TaskFn]:
    """Register a task function (`async def fn(ctx, **kwargs)`) under "<feature>.<event>"."""
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(fn: TaskFn) -> TaskFn:
        TASKS[name] = TaskSpec(name, queue, fn, timeout_setting, retries, on_failure)
        return fn

    return register


@dataclass(frozen=True)
class PendingJob:
    task: str
    key: str
    kwargs: dict[str, Any]


def enqueue_after_commit(session: AsyncSession, task_name: str, *, key: str, **kwargs: Any) -> None:
    """Queue a job that is sent only if (and once) the session's transaction commits."""
    if task_name not in TASKS:
        raise KeyError(f"unknown task {task_name!r}")
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(PendingJob(task_name, key, kwargs))


def take_pending(session: AsyncSession) -> list[PendingJob]:
    return list(session.info.pop(AFTER_COMMIT_KEY, []))


def queue_url(settings: Settings, database_url: URL) -> str:
    """The URL SAQ connects with: the same PostgreSQL (psycopg syntax), or Redis."""
    if settings.queue.connection == "redis":
        if not settings.redis.enabled:
            raise ValueError("QUEUE_CONNECTION=redis needs REDIS_HOST")
        redis = settings.redis
        password = f":{redis.password.get_secret_value()}@" if redis.password else ""
        return f"redis://{password}{redis.host}:{redis.port}/{redis.queue_database}"
    url = database_url.set(drivername="postgresql")
    if url.host and "sslmode" not in url.query:
        url = url.update_query_dict({"sslmode": settings.database.sslmode})
    return url.render_as_string(hide_password=False)


@dataclass
class JobQueues:
    """One SAQ queue per name, sharing one connection pool per backend."""

    settings: Settings
    queues: dict[str, Queue] = field(default_factory=dict)

    connected: bool = False

    @classmethod
    def create(cls, settings: Settings, database_url: URL) -> JobQueues:
        """The queues, not yet connected (no I/O)."""
        url = queue_url(settings, database_url)
        queues: dict[str, Queue] = {}
        for name in QUEUE_NAMES:
            kwargs: dict[str, Any] = {"name": name}
            if not url.startswith("redis"):
                kwargs |= {"min_size": 1, "max_size": 4}
            queues[name] = Queue.from_url(url, **kwargs)
        return cls(settings=settings, queues=queues)

    @classmethod
    async def open(cls, settings: Settings, database_url: URL) -> JobQueues:
        queues = cls.create(settings, database_url)
        await queues.connect()
        return queues

    async def connect(self) -> None:
        for queue in self.queues.values():
            await queue.connect()
        self.connected = True

    def queue(self, name: str) -> Queue:
        return self.queues[name]

    async def enqueue(self, task_name: str, *, key: str, **kwargs: Any) -> Job | None:
        """Send a job; None when a job with the same key is already queued or running."""
        spec = TASKS[task_name]
        timeout = getattr(self.settings.queue, spec.timeout_setting) if spec.timeout_setting else 600
        return await self.queues[spec.queue].enqueue(
            task_name,
            key=key,
            timeout=timeout,
            heartbeat=HEARTBEAT_SECONDS,
            retries=spec.retries,
            retry_delay=1.0,
            retry_backoff=30.0,
            **kwargs,
        )

    async def send_pending(self, pending: Sequence[PendingJob]) -> None:
        if not self.connected:
            raise DatabaseUnavailable()
        for job in pending:
            await self.enqueue(job.task, key=job.key, **job.kwargs)

    async def close(self) -> None:
        if self.connected:
            for queue in self.queues.values():
                await queue.disconnect()
        self.connected = False


def with_heartbeat(fn: TaskFn) -> TaskFn:
    """Touch the job while it runs, so that only a dead worker's jobs look stuck to the sweeper."""

    @functools.wraps(fn)
    async def run(ctx: JobContext, **kwargs: Any) -> Any:
        job = ctx.get("job")

        async def beat() -> None:
            while job is not None:
                await asyncio.sleep(HEARTBEAT_SECONDS / 3)
                await job.update()

        beating = asyncio.create_task(beat())
        # Log lines written by the job carry its key and tenant, as a request's carry theirs.
        request_token = request_id_var.set(f"job:{job.key}" if job is not None else None)
        tenant_token = tenant_id_var.set(str(kwargs["tenant_id"]) if kwargs.get("tenant_id") else None)
        try:
            return await fn(ctx, **kwargs)
        finally:
            request_id_var.reset(request_token)
            tenant_id_var.reset(tenant_token)
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beating

    return run


def build_workers(
    queues: JobQueues,
    names: Sequence[str],
    *,
    startup: Callable[[JobContext], Awaitable[None]],
    on_final_failure: Callable[[JobContext, Job, TaskSpec], Awaitable[None]],
    concurrency: int = 2,
) -> list[Worker]:
    """SAQ workers for the named queues; each runs only the tasks registered on its queue."""

    async def after_process(ctx: JobContext) -> None:
        job: Job | None = ctx.get("job")
        if job is None or job.status != Status.FAILED:
            return
        spec = TASKS.get(job.function)
        if spec is not None:
            await on_final_failure(ctx, job, spec)

    workers: list[Worker] = []
    timers: PartialTimersDict = {"schedule": 1, "worker_info": 10, "sweep": 30, "abort": 1}
    for name in names:
        functions = [(spec.name, with_heartbeat(spec.fn)) for spec in TASKS.values() if spec.queue == name]
        if not functions:
            continue
        workers.append(
            Worker(
                queues.queue(name),
                functions=functions,
                concurrency=concurrency,
                startup=startup,
                after_process=after_process,
                timers=timers,
                shutdown_grace_period_s=queues.settings.queue.shutdown_grace_seconds,
            )
        )
    return workers
