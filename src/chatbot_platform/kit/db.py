"""Engine, sessions and the database URL, embedded or configured."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from chatbot_platform.kit.embedded_pg import EmbeddedPostgres
from chatbot_platform.kit.errors import DatabaseUnavailable
from chatbot_platform.kit.jobs import PendingJob, take_pending
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)


def configured_url(settings: Settings) -> URL | None:
    """The SQLAlchemy URL from DATABASE_URL or DB_*, or None for the embedded server."""
    db = settings.database
    if db.url is not None:
        url = make_url(db.url.get_secret_value())
        if url.get_backend_name() not in {"postgresql", "postgres"}:
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return url.set(drivername="postgresql+asyncpg")
    if db.host is None:
        return None
    return URL.create(
        "postgresql+asyncpg",
        username=db.username,
        password=db.password.get_secret_value() if db.password else None,
        host=db.host,
        port=db.port,
        database=db.database,
    )


def connect_args(settings: Settings, url: URL) -> dict[str, Any]:
    # pgvector's search settings for most searches, so that they need no transaction to set them
    # (see retrieval/stores/pgvector.py); a placeholder until the extension loads, which keeps it.
    server_settings = {
        "search_path": settings.database.search_path,
        "hnsw.ef_search": str(DEFAULT_EF_SEARCH),
        "hnsw.iterative_scan": "relaxed_order",
    }
    args: dict[str, Any] = {"server_settings": server_settings}
    if url.host and not url.query.get("host"):
        args["ssl"] = settings.database.sslmode
    return args


JobSink = Callable[[list[PendingJob]], Awaitable[None]]


POOL_TIMEOUT_SECONDS = 10  # then 503 "busy", rather than a client waiting half a minute
DEFAULT_EF_SEARCH = 100  # HNSW candidates a search examines unless it asks for more
IDLE_PING_SECONDS = 10.0  # a pooled connection idle longer than this is tested before use


@dataclass
class Database:
    """One engine and session factory; owns the embedded server when it started one."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    embedded: EmbeddedPostgres | None = None
    url: URL = field(default_factory=lambda: make_url("postgresql+asyncpg://"))
    job_sink: JobSink | None = None  # where jobs enqueued during a transaction go once it commits

    @classmethod
    async def open(cls, settings: Settings, *, url: URL | str | None = None) -> Database:
        embedded = None
        resolved = make_url(url) if url is not None else configured_url(settings)
        if resolved is None:
            embedded = await start_embedded(settings)
            resolved = make_url(embedded.url())
        engine = create_async_engine(
            resolved,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.pool_overflow,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args=connect_args(settings, resolved),
        )
        _ping_idle_connections(engine)
        _install_slow_query_log(engine, settings)
        _report_unreachable_database(engine)
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(engine=engine, sessions=sessions, embedded=embedded, url=resolved)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads outside any transaction: each statement sees its own snapshot, and
        no BEGIN, COMMIT or rollback on return is sent. Under load every round trip waits for the
        event loop to come round, and a search makes half a dozen such reads."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session over `reader()`: for reads only, nothing it changes is committed."""
        async with self.reader() as conn:
            async with AsyncSession(bind=conn, expire_on_commit=False, autoflush=False) as session:
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                take_pending(session)
                raise
            pending = take_pending(session)
            if pending:
                if self.job_sink is None:
                    raise RuntimeError("jobs were enqueued but no job queue is attached to the database")
                await self.job_sink(pending)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
            self.embedded = None


async def start_embedded(settings: Settings) -> EmbeddedPostgres:
    embedded = EmbeddedPostgres(settings.app.storage_path)
    await asyncio.to_thread(embedded.start)
    await asyncio.to_thread(embedded.ensure_database)
    await asyncio.to_thread(embedded.ensure_connection_capacity)
    return embedded


def _report_unreachable_database(engine: AsyncEngine) -> None:
    """A refused or missing socket becomes DatabaseUnavailable (503), not a bare OSError (500)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:  # noqa: ARG001
        try:
            return dialect.connect(*cargs, **cparams)
        except (OSError, TimeoutError) as exc:
            log.error("database unreachable", extra={"error": type(exc).__name__})
            raise DatabaseUnavailable() from exc


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only when it sat idle for IDLE_PING_SECONDS.

    A restart, a failover or an idle timeout can only have killed a connection that waited; one
    checked in a moment ago is alive. SQLAlchemy's pool_pre_ping tests every checkout, a round trip
    each, and a chat request checks out about ten. A dead connection found in use anyway makes
    SQLAlchemy invalidate the whole pool, so the next requests connect afresh.
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:  # noqa: ARG001
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:  # noqa: ARG001
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure: the pool replaces the connection and tries again
            raise DisconnectionError("a pooled connection did not answer") from exc


def _install_slow_query_log(engine: AsyncEngine, settings: Settings) -> None:
    if not (settings.logging.slow_queries or settings.logging.query_enabled):
        return
    threshold = settings.logging.slow_query_threshold / 1000
    log_all = settings.logging.query_enabled

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:  # noqa: ARG001
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _stop(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:  # noqa: ARG001
        elapsed = time.perf_counter() - conn.info["query_started"].pop()
        slow = elapsed >= threshold
        if log_all or slow:
            log.log(
                logging.WARNING if slow else logging.DEBUG,
                "slow query" if slow else "query",
                extra={"duration_ms": round(elapsed * 1000, 1), "statement": statement[:2000]},
            )
