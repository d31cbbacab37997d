"""Fixtures of the chat tests: platforms served over real HTTP, upstream the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chat.served import Platform, Platforms, platforms_for


@pytest.fixture
async def platforms(tmp_path: Path, database_url: str) -> AsyncIterator[Platforms]:
    async for started in platforms_for(tmp_path, database_url):
        yield started


@pytest.fixture
async def platform(platforms: Platforms) -> Platform:
    """A platform whose chat model (and embedder) is the fake OpenAI server."""
    return await platforms.start()
