"""An app with some settings changed, served in-process, for the operations tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from chatbot_platform.app import create_app
from tests.fixtures.database import make_settings


@asynccontextmanager
async def app_with(
    tmp_path: Path, database_url: str, *, base_url: str = "http://t", **overrides: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(make_settings(tmp_path / "storage", database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield app, client


async def cbp_here(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """`cbp ARGS` run in this process (no interpreter start-up), in a thread so that its own event loop
    can run; returns the exit code and the output."""
    import asyncio

    from typer.testing import CliRunner

    from chatbot_platform.cli import app

    def invoke() -> tuple[int, str]:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            result = CliRunner().invoke(app, list(args), env=env)
        finally:
            # A command that sets up logging points it at the runner's stream, closed once it returns.
            root.handlers[:] = handlers
            root.setLevel(level)
        return result.exit_code, result.output

    return await asyncio.to_thread(invoke)
