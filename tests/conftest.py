"""Shared fixtures: the embedded PostgreSQL, a fresh migrated database per test, the app and a client."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.settings import IGNORED_KEYS, Settings
from chatbot_platform.settings import all_keys as all_setting_keys
from tests.fixtures.browser import browser, browser_context, page
from tests.fixtures.database import ADMIN_TOKEN, DatabaseCluster, make_settings
from tests.fixtures.openai_fixture import fake_openai

__all__ = ["browser", "browser_context", "fake_openai", "page"]


@pytest.fixture(scope="session", autouse=True)
def clean_environment() -> Iterator[None]:
    """Settings in the developer's shell must not leak into the tests."""
    saved = {
        k: os.environ.pop(k) for k in list(os.environ) if k.upper() in {*all_setting_keys(), *IGNORED_KEYS}
    }
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseCluster]:
    # Not under pytest's temporary root: another pytest session started on the machine meanwhile
    # makes that root private (0700) again, and the server, which runs as an unprivileged user,
    # would lose its data directory mid-run.
    root = Path(tempfile.mkdtemp(prefix="cbp-test-pg-"))
    dbs = DatabaseCluster(root)
    try:
        dbs.start()
        await dbs.create_template(make_settings(tmp_path_factory.mktemp("template-storage")))
        yield dbs
    finally:
        dbs.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def database_url(databases: DatabaseCluster) -> AsyncIterator[str]:
    name = await databases.clone()
    yield databases.url(name)
    await databases.drop(name)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "storage", database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"X-Admin-Token": ADMIN_TOKEN}


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment `cbp` runs with in CLI tests: the test's database and data folder."""
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIRTUAL_ENV", "TMPDIR"}}
    return {**base, "DATABASE_URL": database_url, "STORAGE_PATH": str(tmp_path / "storage"), "NO_COLOR": "1"}
