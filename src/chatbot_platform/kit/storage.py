"""Stored files (uploads): a local folder by default; S3-compatible storage is a later driver."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,1000}$")


class FileStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def put_many(self, items: Sequence[tuple[str, bytes]]) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete_prefix(self, prefix: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def list_dirs(self, prefix: str) -> list[str]: ...


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

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            await asyncio.to_thread(shutil.rmtree, path, True)
        elif path.is_file():
            path.unlink(missing_ok=True)


def _write_all(items: Sequence[tuple[Path, bytes]]) -> None:
    for path, data in items:
        _write_atomically(path, data)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name and rename: a crash or a full disk never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
