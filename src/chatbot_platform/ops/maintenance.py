"""Maintenance mode (`cbp down` / `cbp up`), shared by every process and node.

Where the state lives follows APP_MAINTENANCE_DRIVER: `cache` keeps it in Redis (falling back to the
database when no Redis is configured), `database` in the `ops_state` table, `file` in the data
folder (one node only). While it is down every request gets 503 with `Retry-After`, except
`/health`, `/metrics` and holders of the bypass cookie, which a visit to `/{secret}` sets, as in
Laravel.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from chatbot_platform.kit.db import Database
from chatbot_platform.kit.http import ErrorInfo, error_body
from chatbot_platform.kit.security import constant_time_equals
from chatbot_platform.models import OpsState
from chatbot_platform.settings import Settings

STATE_KEY = "maintenance"
BYPASS_COOKIE = "cbp_maintenance_bypass"
BYPASS_COOKIE_SECONDS = 12 * 3600
CHECK_EVERY_SECONDS = 1.0  # each process re-reads the shared state at most this often
EXEMPT_PATHS = frozenset({"/health", "/metrics"})
API_PREFIXES = ("/api/", "/v1/")


@dataclass(frozen=True)
class MaintenanceState:
    since: float
    retry: int | None = None
    refresh: int | None = None
    secret_sha256: str | None = None
    bypass_token: str = ""

    @classmethod
    def new(cls, *, secret: str | None, retry: int | None, refresh: int | None) -> MaintenanceState:
        digest = hashlib.sha256(secret.encode()).hexdigest() if secret else None
        return cls(time.time(), retry, refresh, digest, secrets.token_urlsafe(32))

    def secret_matches(self, candidate: str) -> bool:
        if self.secret_sha256 is None:
            return False
        return constant_time_equals(hashlib.sha256(candidate.encode()).hexdigest(), self.secret_sha256)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MaintenanceState:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class MaintenanceStore(Protocol):
    name: str

    async def get(self) -> MaintenanceState | None: ...

    async def put(self, state: MaintenanceState) -> None: ...

    async def clear(self) -> None: ...

    async def close(self) -> None: ...


class RedisMaintenanceStore:
    name = "redis"

    def __init__(self, redis: Redis, prefix: str, *, owned: bool = False) -> None:
        self.redis, self.key, self.owned = redis, f"{prefix}:{STATE_KEY}", owned

    async def get(self) -> MaintenanceState | None:
        raw = await self.redis.get(self.key)
        return MaintenanceState.from_json(json.loads(raw)) if raw else None

    async def put(self, state: MaintenanceState) -> None:
        await self.redis.set(self.key, json.dumps(state.to_json()))

    async def clear(self) -> None:
        await self.redis.delete(self.key)

    async def close(self) -> None:
        if self.owned:
            await self.redis.aclose()


class DatabaseMaintenanceStore:
    name = "database"

    def __init__(self, database: Database, *, owned: bool = False) -> None:
        self.database, self.owned = database, owned

    async def get(self) -> MaintenanceState | None:
        async with self.database.sessions() as session:
            row = await session.get(OpsState, STATE_KEY)
            return MaintenanceState.from_json(row.value) if row is not None else None

    async def put(self, state: MaintenanceState) -> None:
        statement = insert(OpsState).values(key=STATE_KEY, value=state.to_json())
        statement = statement.on_conflict_do_update(
            index_elements=[OpsState.key], set_={"value": statement.excluded.value}
        )
        async with self.database.transaction() as session:
            await session.execute(statement)

    async def clear(self) -> None:
        async with self.database.transaction() as session:
            row = await session.get(OpsState, STATE_KEY)
            if row is not None:
                await session.delete(row)

    async def close(self) -> None:
        if self.owned:
            await self.database.close()


class FileMaintenanceStore:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def get(self) -> MaintenanceState | None:
        try:
            return MaintenanceState.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    async def put(self, state: MaintenanceState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".part")
        temporary.write_text(json.dumps(state.to_json()))
        temporary.replace(self.path)

    async def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    async def close(self) -> None:
        return None


def store_for(settings: Settings, *, redis: Redis | None, database: Database | None) -> MaintenanceStore:
    """The store APP_MAINTENANCE_DRIVER names, built on the process's own Redis and database."""
    driver = settings.app.maintenance_driver
    if driver == "file":
        return FileMaintenanceStore(settings.app.storage_path / "framework" / "down")
    if driver == "cache" and redis is not None:
        return RedisMaintenanceStore(redis, settings.cache.prefix)
    if database is None:
        raise ValueError("maintenance mode needs the database (or Redis)")
    return DatabaseMaintenanceStore(database)


async def open_store(settings: Settings) -> MaintenanceStore:
    """A store with connections of its own, for `cbp down|up`; close it after use."""
    driver = settings.app.maintenance_driver
    if driver == "file":
        return FileMaintenanceStore(settings.app.storage_path / "framework" / "down")
    if driver == "cache" and settings.redis.enabled:
        from chatbot_platform.runtime import redis_client

        redis = redis_client(settings)
        assert redis is not None  # noqa: S101 - enabled above
        return RedisMaintenanceStore(redis, settings.cache.prefix, owned=True)
    return DatabaseMaintenanceStore(await Database.open(settings), owned=True)


class MaintenanceMiddleware:
    """Answers 503 while the platform is down; reads the shared state at most once a second."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._store: MaintenanceStore | None = None
        self._cached: tuple[float, MaintenanceState | None] = (0.0, None)
        self._refreshing = False

    async def current(self, scope: Scope) -> MaintenanceState | None:
        """The state read at most once a second, by one request: the others meanwhile take the last
        one read (fifty requests arriving together would otherwise take fifty connections for it)."""
        now = time.monotonic()
        if now - self._cached[0] < CHECK_EVERY_SECONDS or (self._refreshing and self._cached[0]):
            return self._cached[1]
        self._refreshing = True
        try:
            state = await self._read(scope)
        finally:
            self._refreshing = False
        self._cached = (time.monotonic(), state)
        return state

    async def _read(self, scope: Scope) -> MaintenanceState | None:
        store = self._store_of(scope)
        if store is None:
            return None
        try:
            return await store.get()
        except Exception:  # an unreachable store must not take the site down; /health reports it
            return self._cached[1]

    def _store_of(self, scope: Scope) -> MaintenanceStore | None:
        if self._store is None:
            services = getattr(scope["app"].state, "services", None)
            if services is None:
                return None
            self._store = store_for(self.settings, redis=services.redis, database=services.database)
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        state = await self.current(scope)
        if state is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.count("/") == 1 and len(path) > 1 and state.secret_matches(path[1:]):
            await self._bypass(state)(scope, receive, send)
            return
        cookie = _cookies(scope).get(BYPASS_COOKIE, "")
        if cookie and constant_time_equals(cookie, state.bypass_token):
            await self.app(scope, receive, send)
            return
        await self._unavailable(scope, state)(scope, receive, send)

    def _bypass(self, state: MaintenanceState) -> Response:
        response = RedirectResponse("/", status_code=302)
        response.set_cookie(
            BYPASS_COOKIE,
            state.bypass_token,
            max_age=BYPASS_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.settings.app.url.startswith("https://"),
        )
        return response

    def _unavailable(self, scope: Scope, state: MaintenanceState) -> Response:
        headers = {"Cache-Control": "no-store"}
        if state.retry:
            headers["Retry-After"] = str(state.retry)
        if state.refresh:
            headers["Refresh"] = str(state.refresh)
        path: str = scope["path"]
        message = "The service is down for maintenance; retry shortly."
        if path.startswith(API_PREFIXES) or "application/json" in Headers(scope=scope).get("accept", ""):
            info = ErrorInfo(503, "service_unavailable", message)
            for prefixes, envelope in getattr(scope["app"].state, "error_envelopes", []):
                if path.startswith(prefixes):
                    status, body = envelope(info)
                    return JSONResponse(body, status_code=status, headers=headers)
            return JSONResponse(error_body(info.code, message), status_code=503, headers=headers)
        return HTMLResponse(maintenance_page(self.settings), status_code=503, headers=headers)


_PAGE_TEXT = {
    "it": ("Manutenzione in corso", "Il servizio è in manutenzione. Riprova tra qualche minuto."),
    "en": ("Down for maintenance", "The service is down for maintenance. Please try again in a few minutes."),
}


def maintenance_page(settings: Settings) -> str:
    title, text = _PAGE_TEXT.get(settings.app.locale, _PAGE_TEXT["en"])
    name = html.escape(settings.app.name)
    return (
        f'<!doctype html><html lang="{settings.app.locale}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · {name}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:15vh auto;max-width:32rem;padding:0 1rem;"
        f"color:#1f2937}}h1{{font-size:1.5rem}}</style></head><body><h1>{title}</h1><p>{text}</p>"
        f"<p><small>{name}</small></p></body></html>"
    )


def _cookies(scope: Scope) -> dict[str, str]:
    raw = Headers(scope=scope).get("cookie", "")
    cookies = {}
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        cookies[name] = value
    return cookies
