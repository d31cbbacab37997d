"""A website on another origin than the platform: it embeds the widget under a strict CSP, and serves
a page the knowledge base ingests (so that citations link to a real page)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.chat.served import serve

SOURCE_TITLE = "Carta d'identità: costi e documenti"
SOURCE_HTML = (
    "<!doctype html><html lang='it'><head><title>" + SOURCE_TITLE + "</title></head><body><main>"
    "<h1>Carta d'identità elettronica</h1><p>La carta d'identità elettronica si richiede all'ufficio "
    "anagrafe del Comune su appuntamento. Servono una fotografia recente e la tessera sanitaria. "
    "Il costo della carta d'identità elettronica è di 22 euro.</p></main></body></html>"
)


def strict_csp(platform: str) -> str:
    """No inline script or style, no eval: only the platform's script and API."""
    return (
        f"default-src 'none'; script-src {platform}; connect-src {platform}; img-src {platform} data:; "
        "style-src 'none'; base-uri 'none'; form-action 'none'"
    )


@dataclass
class Host:
    port: int
    platform: str

    def origin(self, hostname: str = "localhost") -> str:
        return f"http://{hostname}:{self.port}"

    def page(self, tenant: str, key: str, *, hostname: str = "localhost", **data: str) -> str:
        """The embedding page; `platform=URL` among `data` embeds another platform's script."""
        query = "&".join(f"{k}={v}" for k, v in {"tenant": tenant, "key": key, **data}.items())
        return f"{self.origin(hostname)}/page?{query}"


def _page(request: Request) -> HTMLResponse:
    params = dict(request.query_params)
    platform = params.pop("platform", request.app.state.platform)
    attributes = " ".join(f'data-{html.escape(k)}="{html.escape(v)}"' for k, v in params.items())
    body = (
        "<!doctype html><html lang='it'><head><meta charset='utf-8'><title>Comune di Esempio</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body>"
        "<header><a href='#main'>Salta al contenuto</a></header><main id='main'><h1>Comune di Esempio</h1>"
        "<p>Benvenuti nel sito del Comune.</p></main>"
        f"<script src='{platform}/widget/v1/widget.js' {attributes} async></script></body></html>"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": strict_csp(platform)})


def _source(request: Request) -> HTMLResponse:
    return HTMLResponse(SOURCE_HTML)


@contextmanager
def host_site(platform: str) -> Iterator[Host]:
    app = Starlette(routes=[Route("/page", _page), Route("/source/anagrafe", _source)])
    app.state.platform = platform
    with serve(app) as url:  # a Starlette app: serve() only needs ASGI and a lifespan
        yield Host(port=int(url.rsplit(":", 1)[1]), platform=platform)
