"""The platform running for real: `create_app` served by Uvicorn on a free port in a thread, so that
the official `openai` SDK (sync and async) and LangChain talk HTTP to it as to OpenAI, and a client
can hang up mid-stream. The upstream model is the fake OpenAI-compatible server."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from chatbot_platform.app import create_app
from chatbot_platform.retrieval import llm_steps
from tests.factories import TenantWithKey, make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI

STANDALONE = "Quanto costa la carta d'identità elettronica?"
_SOURCE = re.compile(r"^\[(\d+)\] (.+)$", re.M)
_counter = itertools.count(1)


def sources_in(messages: list[dict[str, Any]]) -> dict[int, str]:
    """The numbered sources the platform put in the last message: number -> heading."""
    return {int(n): title for n, title in _SOURCE.findall(str(messages[-1]["content"]))}


def grounded_reply(messages: list[dict[str, Any]]) -> str:
    """The model's answers: the rewrite of a follow-up, else a sentence citing the first source and
    a source that was never given (which the platform must drop)."""
    system = str(messages[0]["content"])
    if system == llm_steps.STANDALONE_PROMPT:
        return STANDALONE
    sources = sources_in(messages)
    if not sources:
        return "Nessuna fonte."
    first = min(sources)
    return f"Secondo la fonte «{sources[first]}» la risposta è questa [{first}]. Altro dettaglio [99]."


@contextmanager
def serve(app: ASGIApp, *, port: int = 0) -> Iterator[str]:
    """Serve the ASGI `app` (with its lifespan) on 127.0.0.1 (a free port by default) in a thread
    until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        log_config=None,  # uvicorn's own would bind its handlers to this test's captured stderr
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="served", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the served application did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Platform:
    url: str
    app: FastAPI
    fake: FakeOpenAI | None
    http: httpx.AsyncClient

    async def tenant(self, **fields: Any) -> TenantWithKey:
        return await make_tenant(self.http, **fields)

    def openai(self, tenant: TenantWithKey, **options: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=tenant.key, max_retries=0, **options)

    def async_openai(self, tenant: TenantWithKey, **options: Any) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=tenant.key, max_retries=0, **options)

    def checked_out_connections(self) -> int:
        return int(self.app.state.database.engine.pool.checkedout())


class Platforms:
    """Starts platforms for one test; all stop when it ends."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path, self.database_url = tmp_path, database_url
        self.stack = AsyncExitStack()

    async def start(
        self,
        *,
        llm: bool = True,
        fake: FakeOpenAI | None = None,
        storage: str | None = None,
        **overrides: str,
    ) -> Platform:
        values = {"THROTTLE_CHAT_REQUESTS": "1000", "LOG_LEVEL": "warning", **overrides}
        if llm:
            fake = fake or self.stack.enter_context(FakeOpenAI(reply=grounded_reply))
            values = {"OPENAI_API_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-upstream", **values}
        folder = self.tmp_path / (storage or f"storage-{next(_counter)}")
        app = create_app(make_settings(folder, self.database_url, **values))
        url = self.stack.enter_context(serve(app))
        http = await self.stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
        return Platform(url=url, app=app, fake=fake, http=http)

    async def aclose(self) -> None:
        await self.stack.aclose()


async def platforms_for(tmp_path: Path, database_url: str) -> AsyncIterator[Platforms]:
    platforms = Platforms(tmp_path, database_url)
    try:
        yield platforms
    finally:
        await platforms.aclose()
