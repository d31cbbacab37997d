"""Where admin sessions live (SESSION_DRIVER): the database (default), Redis, or process memory.

The cookie carries only a random token; stores keep its SHA-256, so a leaked table or Redis dump
cannot be replayed as a cookie. `file` and `cookie` use the database store (see docs/api.md).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from chatbot_platform.admin.repository import SessionRepo
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.security import new_token, sha256_hex
from chatbot_platform.models import AdminSession

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from chatbot_platform.kit.db import Database
    from chatbot_platform.settings import Settings

TOUCH_EVERY = timedelta(seconds=60)  # sliding expiry is written at most this often
SESSION_KEY = "admin-session:"  # under CACHE_PREFIX in Redis


class SessionStore(Protocol):
    async def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        """A new session; returns the token for the cookie."""
        ...

    async def user_of(self, token: str) -> uuid.UUID | None:
        """The signed-in user, extending the session's lifetime; None when unknown or expired."""
        ...

    async def destroy(self, token: str) -> None: ...

    async def destroy_user(self, user_id: uuid.UUID) -> None:
        """End every session of a user (after a password change)."""
        ...


class DatabaseSessions:
    def __init__(self, database: Database, lifetime: timedelta) -> None:
        self.database, self.lifetime = database, lifetime

    async def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        token, now = new_token(), utcnow()
        row = AdminSession(
            token_hash=sha256_hex(token),
            user_id=user_id,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
        )
        async with self.database.transaction() as session:
            repo = SessionRepo(session)
            await repo.delete_expired(now)
            await repo.add(row)
        return token

    async def user_of(self, token: str) -> uuid.UUID | None:
        now = utcnow()
        async with self.database.transaction() as session:
            repo = SessionRepo(session)
            row = await repo.first(AdminSession.token_hash == sha256_hex(token))
            if row is None or row.expires_at <= now:
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at, row.expires_at = now, now + self.lifetime
                await repo.save(row)
            return row.user_id

    async def destroy(self, token: str) -> None:
        async with self.database.transaction() as session:
            repo = SessionRepo(session)
            row = await repo.first(AdminSession.token_hash == sha256_hex(token))
            if row is not None:
                await repo.delete(row)

    async def destroy_user(self, user_id: uuid.UUID) -> None:
        async with self.database.transaction() as session:
            await SessionRepo(session).delete_for_user(user_id)


class RedisSessions:
    def __init__(self, redis: Redis, lifetime: timedelta, prefix: str) -> None:
        self.redis, self.lifetime, self.prefix = redis, lifetime, f"{prefix}:{SESSION_KEY}"

    def _key(self, token: str) -> str:
        return self.prefix + sha256_hex(token)

    def _user_key(self, user_id: uuid.UUID | str) -> str:
        return f"{self.prefix}user:{user_id}"

    async def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        del ip, user_agent  # Redis keeps only the user; the database store records them
        token = new_token()
        seconds = int(self.lifetime.total_seconds())
        await self.redis.set(self._key(token), str(user_id), ex=seconds)
        await self.redis.sadd(self._user_key(user_id), self._key(token))
        await self.redis.expire(self._user_key(user_id), seconds)
        return token

    async def user_of(self, token: str) -> uuid.UUID | None:
        raw = await self.redis.getex(self._key(token), ex=int(self.lifetime.total_seconds()))
        return uuid.UUID(raw.decode() if isinstance(raw, bytes) else str(raw)) if raw else None

    async def destroy(self, token: str) -> None:
        await self.redis.delete(self._key(token))

    async def destroy_user(self, user_id: uuid.UUID) -> None:
        keys = await self.redis.smembers(self._user_key(user_id))
        if keys:
            await self.redis.delete(*keys)
        await self.redis.delete(self._user_key(user_id))


class MemorySessions:
    """One process only (SESSION_DRIVER=array): for tests and single-process demos."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self._rows: dict[str, tuple[uuid.UUID, datetime]] = {}
        self._lock = threading.Lock()

    async def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        del ip, user_agent
        token = new_token()
        with self._lock:
            self._rows[sha256_hex(token)] = (user_id, utcnow() + self.lifetime)
        return token

    async def user_of(self, token: str) -> uuid.UUID | None:
        key, now = sha256_hex(token), utcnow()
        with self._lock:
            found = self._rows.get(key)
            if found is None or found[1] <= now:
                self._rows.pop(key, None)
                return None
            self._rows[key] = (found[0], now + self.lifetime)
            return found[0]

    async def destroy(self, token: str) -> None:
        with self._lock:
            self._rows.pop(sha256_hex(token), None)

    async def destroy_user(self, user_id: uuid.UUID) -> None:
        with self._lock:
            self._rows = {k: v for k, v in self._rows.items() if v[0] != user_id}


def build_session_store(settings: Settings, database: Database, redis: Redis | None) -> SessionStore:
    lifetime = timedelta(minutes=settings.session.lifetime)
    driver = settings.session.driver
    if driver == "redis" and redis is not None:
        return RedisSessions(redis, lifetime, settings.cache.prefix)
    if driver == "array":
        return MemorySessions(lifetime)
    return DatabaseSessions(database, lifetime)
