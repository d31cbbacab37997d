"""Fixtures of the service-desk tests: two platform processes' worth of apps (two Uvicorn servers
on one database, so that live events must cross workers), a local SMTP server, a local HTTP server
receiving webhooks, and helpers to act as a visitor (widget session) and as an operator (API key)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chatbot_platform.kit.db import Database
from tests.chat.served import Platform, Platforms, serve
from tests.factories import TenantWithKey
from tests.fixtures.database import DatabaseCluster, make_settings

ORIGIN = "http://shop.example"


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, count: int = 1, within: float = 15.0) -> list[Message]:
        for _ in range(int(within / 0.05)):
            if len(self.to(address)) >= count:
                return self.to(address)
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} e-mail(s) to {address}, got {len(self.to(address))}")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Hooks:
    """The local webhook receiver (a CRM, an alerting service)."""

    url: str
    received: list[Received] = field(default_factory=list)

    async def wait_for(self, path: str, within: float = 15.0, count: int = 1) -> Received:
        for _ in range(int(within / 0.05)):
            found = [r for r in self.received if r.path == path]
            if len(found) >= count:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no webhook on {path}")


@contextmanager
def hook_server() -> Iterator[Hooks]:
    hooks = Hooks(url="")

    async def receive(request: Request) -> JSONResponse:
        """Records every call; paths with "flaky" fail the first time (503), to prove the retries."""
        path = request.url.path
        first = not any(r.path == path for r in hooks.received)
        hooks.received.append(Received(path, dict(request.headers), await request.body()))
        if "flaky" in path and first:
            return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
    with serve(app) as url:  # type: ignore[arg-type]
        hooks.url = url
        yield hooks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Desk:
    a: Platform  # the operators' worker
    b: Platform  # the visitors' worker
    inbox: Inbox
    hooks: Hooks
    database: Database  # this test loop's own connection pool to the same database
    database_url: str

    @property
    def services(self) -> Any:
        """What the periodic tasks use of the process's services (only the database)."""
        return SimpleNamespace(database=self.database, settings=self.a.app.state.settings)


@pytest.fixture(scope="package")
async def desk(databases: DatabaseCluster, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    name = await databases.clone()
    url = databases.url(name)
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    folder = tmp_path_factory.mktemp("desk")
    platforms = Platforms(folder, url)
    env = {
        "MAIL_MAILER": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": str(port),
        "MAIL_ENCRYPTION": "none",
        "MAIL_FROM_ADDRESS": "desk@platform.example",
        "FETCH_ALLOW_PRIVATE_NETWORKS": "true",
        "WIDGET_CACHE_TTL": "0",
        "WIDGET_RATE_LIMIT": "1000",
    }
    database = await Database.open(make_settings(folder / "tests", url))
    try:
        with hook_server() as hooks:
            a = await platforms.start(llm=False, **env)
            b = await platforms.start(llm=False, **env)
            yield Desk(a, b, inbox, hooks, database, url)
    finally:
        await platforms.aclose()
        await database.close()
        smtp.stop()
        await databases.drop(name)


@dataclass
class Visitor:
    """A widget visitor of a tenant, talking to one platform worker."""

    http: httpx.AsyncClient
    slug: str
    token: str
    visitor_id: str
    conversation_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Origin": ORIGIN, "Authorization": f"Bearer {self.token}"}

    def url(self, path: str) -> str:
        return f"/api/v1/widget/{self.slug}{path}"

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(self.url(path), json=body, headers=self.headers)

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(self.url(path), headers=self.headers)


async def open_widget(platform: Platform, tenant: TenantWithKey) -> str:
    """Allow the test origin and issue a publishable key."""
    configured = await platform.http.patch(
        "/api/v1/widget/config", json={"allowed_origins": [ORIGIN]}, headers=tenant.headers
    )
    assert configured.status_code == 200, configured.text
    issued = await platform.http.post("/api/v1/widget/keys", json={"name": "site"}, headers=tenant.headers)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["key"])


async def visitor_of(platform: Platform, tenant: TenantWithKey, key: str, **body: Any) -> Visitor:
    started = await platform.http.post(
        f"/api/v1/widget/{tenant.slug}/sessions", json={"key": key, **body}, headers={"Origin": ORIGIN}
    )
    assert started.status_code == 201, started.text
    data = started.json()
    return Visitor(platform.http, tenant.slug, data["token"], data["visitor_id"], data["conversation_id"])


class Stream:
    """A server-sent event stream read in the background; `next(type)` waits for an event."""

    def __init__(self, http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.status: int | None = None
        self._task = asyncio.create_task(self._read(http, url, headers))

    async def _read(self, http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        async with http.stream("GET", url, headers=headers, timeout=None) as response:
            self.status = response.status_code
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    await self.events.put(json.loads(line[6:]))

    async def next(self, kind: str, within: float = 10.0, **match: Any) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} event {match}")
            try:
                event = await asyncio.wait_for(self.events.get(), remaining)
            except TimeoutError:
                raise AssertionError(f"no {kind} event {match}") from None
            if event.get("type") == kind and all(event.get(k) == v for k, v in match.items()):
                return event

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, httpx.HTTPError):
            pass
