"""Helpers shared by every `cbp` command group: consoles, clean failures, database sessions."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.errors import AppError
from chatbot_platform.settings import Settings, SettingsError, load_settings

ResultT = TypeVar("ResultT")

# Wide when piped, so ids and keys are never cut by a table.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc), code=2) from None


def run_async(work: Awaitable[ResultT]) -> ResultT:
    """Run a coroutine; domain errors become a clean message and exit code 1."""
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except AppError as exc:
        raise fail(exc.message) from None


def with_session(work: Callable[[AsyncSession], Awaitable[ResultT]]) -> ResultT:
    """Run `work` in one committed transaction against the configured (or embedded) database."""
    from chatbot_platform.kit.db import Database

    settings = settings_or_exit()

    async def run() -> ResultT:
        database = await Database.open(settings)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.close()

    return run_async(run())


def validation_message(exc: Any) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
