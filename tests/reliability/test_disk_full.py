"""Disk full on upload: the file store is a 512 kB tmpfs (a real filesystem that runs out of space,
ENOSPC); an upload or a batch that does not fit answers a clear 507, leaves no document row and no
file, and the platform keeps accepting uploads that fit."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from chatbot_platform.app import create_app
from tests.factories import make_tenant
from tests.fixtures.database import make_settings


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """`storage/files` on a 512 kB tmpfs (the test runs as root, as the suite does in this project)."""
    files = tmp_path / "storage" / "files"
    files.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(files)], capture_output=True, text=True
    )
    assert mounted.returncode == 0, f"this test mounts a small tmpfs and needs root: {mounted.stderr}"
    try:
        yield files
    finally:
        subprocess.run(["umount", "-l", str(files)], check=True)


@pytest.fixture
async def platform(tiny_disk: Path, database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(tiny_disk.parent, database_url))
    async with application.router.lifespan_context(application):
        yield application


async def document_rows(app: FastAPI) -> int:
    async with app.state.database.transaction() as session:
        return int((await session.execute(text("SELECT count(*) FROM documents"))).scalar_one())


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_an_upload_that_does_not_fit_on_disk_is_a_clear_error_leaving_nothing_behind(
    platform: FastAPI, tiny_disk: Path
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=platform), base_url="http://t") as client:
        tenant = await make_tenant(client)
        form = {"knowledge_base_id": tenant.default_kb_id}
        big = b"Una riga di testo che riempie il disco.\n" * 20_000  # 800 kB > 512 kB
        response = await client.post(
            "/api/v1/documents", files={"file": ("grande.txt", big)}, data=form, headers=tenant.headers
        )
        assert response.status_code == 507, response.text
        error = response.json()["error"]
        assert "space" in error["message"].lower()
        assert "Errno" not in error["message"]
        assert str(tiny_disk) not in error["message"]
        assert await document_rows(platform) == 0
        assert files_in(tiny_disk) == [], "no partial file"
        listed = await client.get("/api/v1/documents", headers=tenant.headers)
        assert listed.json()["total"] == 0

        # A JSON batch is written in one go: it fails as a whole, and the files written before the
        # disk filled up are removed with it.
        texts = [
            {
                "knowledge_base_id": tenant.default_kb_id,
                "title": f"testo {n}",
                "text": big[: 200 * 1024].decode(),
            }
            for n in range(4)
        ]
        whole = await client.post(
            "/api/v1/documents/batch", json={"documents": texts}, headers=tenant.headers
        )
        assert whole.status_code == 507, whole.text
        assert await document_rows(platform) == 0
        assert files_in(tiny_disk) == [], "the batch's earlier files are removed too"

        # A multipart batch answers per file: those that fit are stored, the others get 507.
        parts = [("files", (f"parte-{n}.txt", big[: 200 * 1024])) for n in range(4)]  # 800 kB in all
        mixed = await client.post("/api/v1/documents/batch", files=parts, data=form, headers=tenant.headers)
        assert mixed.status_code == 207, mixed.text
        statuses = [result["status"] for result in mixed.json()["results"]]
        assert set(statuses) == {202, 507}, statuses
        stored = statuses.count(202)
        assert await document_rows(platform) == stored
        assert len(files_in(tiny_disk)) == stored, "no file without its document"
        small = await client.post(
            "/api/v1/documents",
            files={"file": ("piccolo.txt", b"Un documento piccolo che ci sta.")},
            data=form,
            headers=tenant.headers,
        )
        assert small.status_code == 202, small.text
        assert await document_rows(platform) == stored + 1
        assert len(files_in(tiny_disk)) == stored + 1
