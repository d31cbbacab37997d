"""A real website for the scraper tests and the benchmark: a small ASGI app served by Uvicorn.

Pages are plain data (`Resource`), so a test can change or remove one between two runs. The
server answers If-None-Match with 304, records every hit with its time, and tracks how many
requests were in flight at once (the concurrency bound is checked on the server side).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.chat.served import serve


@dataclass
class Resource:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None
    delay: float = 0.0
    etag: bool = True


@dataclass
class Site:
    resources: dict[str, Resource] = field(default_factory=dict)
    hits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    in_flight: int = 0
    max_in_flight: int = 0
    not_modified: int = 0
    base_url: str = ""
    headers_seen: dict[str, dict[str, str]] = field(default_factory=dict)

    def page(self, path: str, body: str, **options: Any) -> None:
        self.resources[path] = Resource(body=body.encode(), **options)

    def raw(self, path: str, body: bytes, content_type: str, **options: Any) -> None:
        self.resources[path] = Resource(body=body, content_type=content_type, **options)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.resources[path] = Resource(status=status, location=location)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._respond(scope, send)
        finally:
            self.in_flight -= 1

    async def _respond(self, scope: dict[str, Any], send: Any) -> None:
        path = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        if path == "/__stats":  # for a benchmark running the site in another process
            stats = {"max_in_flight": self.max_in_flight, "not_modified": self.not_modified}
            stats["requests"] = sum(len(times) for times in self.hits.values())
            await _send(send, 200, json.dumps(stats).encode(), [(b"content-type", b"application/json")])
            return
        self.hits[path].append(time.monotonic())
        self.headers_seen[path] = {k.decode(): v.decode() for k, v in scope["headers"]}
        resource = self.resources.get(path)
        if resource is None:
            await _send(send, 404, b"not found", [(b"content-type", b"text/plain")])
            return
        if resource.delay:
            await asyncio.sleep(resource.delay)
        if resource.location is not None:
            await _send(send, resource.status, b"", [(b"location", resource.location.encode())])
            return
        headers = [(b"content-type", resource.content_type.encode())]
        if resource.etag:
            tag = f'"{hashlib.sha256(resource.body).hexdigest()[:16]}"'.encode()
            headers.append((b"etag", tag))
            sent = dict(scope["headers"]).get(b"if-none-match")
            if sent == tag:
                self.not_modified += 1
                await _send(send, 304, b"", headers)
                return
        await _send(send, resource.status, resource.body, headers)


async def _send(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serving(site: Site, port: int = 0) -> Iterator[Site]:
    """Serve the site on 127.0.0.1 (a free port by default) in a thread until the block ends."""
    with serve(site, port=port) as url:
        site.base_url = url
        yield site


def layout(title: str, content: str, *, links: Sequence[str] = ()) -> str:
    """A page with the furniture real sites have: navigation, a cookie banner, a footer."""
    nav = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f'<header><nav><ul><li><a href="/">Home</a></li>{nav}</ul></nav></header>'
        '<div id="cookie-banner" class="cookie-consent">Usiamo i cookie. <button>Accetta</button></div>'
        f"<main>{content}</main>"
        "<footer>© Comune di Castelvecchio · Privacy</footer></body></html>"
    )
