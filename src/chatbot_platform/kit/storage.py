"""Stored files (uploads): a local folder by default, S3-compatible storage with FILESYSTEM_DISK=s3."""

from __future__ import annotations

import asyncio
import errno
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chatbot_platform.kit.errors import AppError

if TYPE_CHECKING:
    from chatbot_platform.settings import Settings

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,1000}$")
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class StorageFull(AppError):
    """The file store has no room left (disk full or quota reached): 507, nothing half-written."""

    status_code = 507
    code = "insufficient_storage"

    def __init__(self) -> None:
        super().__init__("There is not enough storage space left for this file; nothing was saved.")


class FileStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete_prefix(self, prefix: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def list_dirs(self, prefix: str) -> list[str]: ...

    async def list_keys(self, prefix: str = "") -> list[str]: ...


class LocalFileStore:
    """Files under one root folder; keys are relative paths that can never leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"unsafe storage key {key!r}")
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"unsafe storage key {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        await asyncio.to_thread(_write_atomically, path, data)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Several files in one trip to the thread pool."""
        if items:
            paths = [(self._path(key), data) for key, data in items]
            await asyncio.to_thread(_write_all, paths)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def list_dirs(self, prefix: str) -> list[str]:
        """Names of the folders directly under `prefix`."""
        path = self._path(prefix.rstrip("/"))
        return sorted(child.name for child in path.iterdir() if child.is_dir()) if path.is_dir() else []

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every stored key under `prefix` (all of them for ""), sorted."""
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".part")
        )

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            await asyncio.to_thread(shutil.rmtree, path, True)
        elif path.is_file():
            path.unlink(missing_ok=True)


def _write_all(items: Sequence[tuple[Path, bytes]]) -> None:
    """All or none: when one write fails (a full disk), the files written before it are removed."""
    written: list[Path] = []
    try:
        for path, data in items:
            _write_atomically(path, data)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name and rename: a crash or a full disk never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise StorageFull() from exc
        raise


class S3FileStore:
    """Files as objects in one S3 bucket (AWS, MinIO, Ceph…); boto3 calls run in worker threads."""

    def __init__(self, client: Any, bucket: str, *, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_settings(cls, settings: Settings, *, bucket: str | None = None, prefix: str = "") -> S3FileStore:
        name = bucket or settings.storage.aws_bucket
        if not name:
            raise ValueError("FILESYSTEM_DISK=s3 needs AWS_BUCKET")
        return cls(s3_client(settings), name, prefix=prefix)

    def _key(self, key: str) -> str:
        if not _SAFE_KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"unsafe storage key {key!r}")
        return self.prefix + key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        for key, data in items:
            await self.put(key, data)

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey:
                raise FileNotFoundError(key) from None
            return bytes(response["Body"].read())

        return await asyncio.to_thread(read)

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
            return True

        return await asyncio.to_thread(head)

    def _pages(self, prefix: str, **extra: Any) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        return list(paginator.paginate(Bucket=self.bucket, Prefix=prefix, **extra))

    async def list_dirs(self, prefix: str) -> list[str]:
        """Names of the "folders" directly under `prefix`."""
        base = self._key(prefix.rstrip("/")) + "/"
        pages = await asyncio.to_thread(self._pages, base, Delimiter="/")
        names = {
            p["Prefix"][len(base) :].rstrip("/") for page in pages for p in page.get("CommonPrefixes", [])
        }
        return sorted(names)

    async def list_keys(self, prefix: str = "") -> list[str]:
        base = self._key(prefix) if prefix else self.prefix
        pages = await asyncio.to_thread(self._pages, base)
        return sorted(o["Key"][len(self.prefix) :] for page in pages for o in page.get("Contents", []))

    async def delete_prefix(self, prefix: str) -> None:
        exact = self._key(prefix.rstrip("/"))
        keys = [exact, *(self.prefix + k for k in await self.list_keys(prefix.rstrip("/") + "/"))]

        def delete() -> None:
            for start in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

        await asyncio.to_thread(delete)


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from AWS_* (custom endpoint and path-style addressing for MinIO and friends)."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    storage = settings.storage
    secret = storage.aws_secret_access_key
    return boto3.client(
        "s3",
        region_name=storage.aws_default_region,
        endpoint_url=storage.aws_endpoint or None,
        aws_access_key_id=storage.aws_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            s3={"addressing_style": "path" if storage.aws_use_path_style_endpoint else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    )


def build_file_store(settings: Settings) -> FileStore:
    """The store FILESYSTEM_DISK names: the data folder's files/ or the AWS_BUCKET bucket."""
    if settings.storage.disk == "s3":
        return S3FileStore.from_settings(settings)
    return LocalFileStore(settings.app.storage_path / "files")
