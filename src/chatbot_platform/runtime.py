"""The process's services, built once: by the app lifespan, by `cbp worker` and by CLI commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from saq.job import Job

from chatbot_platform.embeddings.base import Embedder, EmbeddingModelUnavailable
from chatbot_platform.embeddings.registry import build_embedder, offered_models
from chatbot_platform.kit import jobs
from chatbot_platform.kit.db import Database
from chatbot_platform.kit.errors import DatabaseUnavailable
from chatbot_platform.kit.jobs import JobContext, JobQueues, TaskSpec, Worker
from chatbot_platform.kit.storage import FileStore, build_file_store
from chatbot_platform.kit.throttle import LocalThrottle, Throttle, build_throttle
from chatbot_platform.llm import ChatModel, build_chat_model
from chatbot_platform.retrieval.cache import RetrievalCache
from chatbot_platform.retrieval.stores.base import VectorStore
from chatbot_platform.retrieval.stores.registry import build_vector_store
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)
QUEUE_CONNECT_TIMEOUT = 5.0
REDIS_CONNECT_TIMEOUT = 2.0
REDIS_SOCKET_TIMEOUT = 5.0
QUEUE_RECONNECT_SECONDS = 5.0
MAINTENANCE_SECONDS = 60.0


def load_tasks() -> None:
    """Import every feature's tasks so that they register on their queues."""
    import chatbot_platform.desk.tasks
    import chatbot_platform.ingestion.tasks
    import chatbot_platform.scraper.tasks  # noqa: F401


@dataclass
class Services:
    settings: Settings
    database: Database
    files: FileStore
    queues: JobQueues
    vector_store: VectorStore
    embedder: Embedder
    redis: Redis | None = None
    session_redis: Redis | None = None  # admin sessions, on REDIS_DATABASE: `cbp cache clear` keeps them
    retrieval_cache: RetrievalCache = field(default_factory=lambda: RetrievalCache(None))
    chat_model: ChatModel | None = None
    throttle: Throttle = field(default_factory=LocalThrottle)
    workers: list[Worker] = field(default_factory=list)
    _worker_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _connecting: asyncio.Task[None] | None = None
    _embedders: dict[str, Embedder] = field(default_factory=dict)

    @classmethod
    async def start(
        cls, settings: Settings, database: Database, *, worker_queues: Sequence[str] = ()
    ) -> Services:
        load_tasks()
        redis = redis_client(settings)
        queues = JobQueues.create(settings, database.url)
        database.job_sink = queues.send_pending
        services = cls(
            settings=settings,
            database=database,
            files=build_file_store(settings),
            queues=queues,
            vector_store=build_vector_store(settings, database),
            embedder=build_embedder(settings, redis=redis),
            redis=redis,
            session_redis=redis_client(settings, settings.redis.database),
            retrieval_cache=RetrievalCache(redis, settings.cache.prefix),
            chat_model=build_chat_model(settings, redis),
            throttle=build_throttle(redis, key_prefix=settings.cache.prefix),
        )
        try:
            await services._connect(worker_queues)
        except (DatabaseUnavailable, OSError, TimeoutError) as exc:
            # Start anyway (health says why, API calls answer 503) and keep trying in the background.
            log.error("job queues unavailable at start; retrying", extra={"error": type(exc).__name__})
            services._connecting = asyncio.create_task(services._connect_until_ready(worker_queues))
        return services

    def embedding_models(self) -> list[str]:
        """The embedding models a tenant may choose here, the deployment default among them."""
        return sorted({self.embedder.model, *offered_models(self.settings)})

    def embedder_for(self, model: str | None) -> Embedder:
        """The embedder of `model` (None: the deployment default), built once per process."""
        if model is None or model == self.embedder.model:
            return self.embedder
        if model in self._embedders:
            return self._embedders[model]
        provider = offered_models(self.settings).get(model)
        if provider is None:
            raise EmbeddingModelUnavailable(model, self.embedding_models())
        embedder = build_embedder(self.settings, redis=self.redis, provider=provider)
        if embedder.model != model:  # a third-party provider registered under a built-in name
            raise EmbeddingModelUnavailable(model, self.embedding_models())
        self._embedders[model] = embedder
        return embedder

    async def _connect(self, worker_queues: Sequence[str]) -> None:
        await asyncio.wait_for(self.database.ping(), QUEUE_CONNECT_TIMEOUT)
        await asyncio.wait_for(self.queues.connect(), QUEUE_CONNECT_TIMEOUT)
        if worker_queues:
            self.start_workers(worker_queues)

    async def _connect_until_ready(self, worker_queues: Sequence[str]) -> None:
        while True:
            await asyncio.sleep(QUEUE_RECONNECT_SECONDS)
            try:
                await self._connect(worker_queues)
            except (DatabaseUnavailable, OSError, TimeoutError):
                continue
            log.info("job queues connected")
            return

    def start_workers(self, names: Sequence[str]) -> None:
        async def startup(ctx: JobContext) -> None:
            ctx["services"] = self

        self.workers = jobs.build_workers(
            self.queues,
            names,
            startup=startup,
            on_final_failure=self._on_final_failure,
            concurrency=self.settings.queue.worker_concurrency,
        )
        self._worker_tasks = [asyncio.create_task(worker.start()) for worker in self.workers]
        self._worker_tasks.append(asyncio.create_task(self._maintenance_loop()))

    async def _maintenance_loop(self) -> None:
        """Periodic upkeep while workers run: nothing stays pending forever after a lost job."""
        from chatbot_platform.ingestion.pipeline import recover_stalled

        while True:
            await asyncio.sleep(MAINTENANCE_SECONDS)
            try:
                recovered = await recover_stalled(self)
            except Exception:  # upkeep must never stop; the next round tries again
                log.exception("stalled-work recovery failed")
                continue
            if recovered:
                log.warning("re-sent stalled documents", extra={"count": recovered})

    async def _on_final_failure(self, ctx: JobContext, job: Job, spec: TaskSpec) -> None:
        from chatbot_platform.ops import failed_jobs

        await failed_jobs.record(self.database, job, spec)
        if spec.on_failure is not None:
            await spec.on_failure(ctx, job)

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await asyncio.gather(*(worker.stop() for worker in self.workers), return_exceptions=True)
        for task in self._worker_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.queues.close()
        self.database.job_sink = None
        await self.vector_store.close()
        for embedder in (self.embedder, *self._embedders.values()):
            await embedder.aclose()
        if self.chat_model is not None:
            await self.chat_model.aclose()
        for client in (self.redis, self.session_redis):
            if client is not None:
                await client.aclose()


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def redis_client(settings: Settings, database: int | None = None) -> Redis | None:
    """A client of the configured Redis, on `database` (default REDIS_CACHE_DATABASE: the cache, rate
    limits, budgets, maintenance state and scraper slots); None without Redis."""
    redis = settings.redis
    if not redis.enabled:
        return None
    # redis-py's default retries a refused connection 3 times with backoff up to seconds: during a
    # Redis outage every cache or throttle call would stall a request that long before falling back
    # to this process's own. One quick retry, and timeouts, keep an outage a matter of milliseconds.
    return Redis(
        host=redis.host or "127.0.0.1",
        port=redis.port,
        db=redis.cache_database if database is None else database,
        password=redis.password.get_secret_value() if redis.password else None,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
    )
