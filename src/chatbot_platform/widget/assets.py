"""The widget script at a versioned path, and a demo page per tenant."""

from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.errors import NotFound
from chatbot_platform.widget import service

router = APIRouter(tags=["widget (public)"])
SCRIPT_PATH = "/widget/v1/widget.js"
# A week fresh, then served stale while revalidated (ETag): fixes reach visitors within days, while
# breaking changes get a new versioned path.
SCRIPT_CACHE = "public, max-age=604800, stale-while-revalidate=86400"
PREVIEW_CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' https: data:; "
    "style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class Asset:
    raw: bytes
    gzipped: bytes
    etag: str


@cache
def script() -> Asset:
    raw = resources.files("chatbot_platform.widget").joinpath("static/widget.js").read_bytes()
    return Asset(raw, gzip.compress(raw, 9, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:20] + '"')


@router.get(SCRIPT_PATH, response_class=Response, responses={200: {"content": {"text/javascript": {}}}})
async def widget_script(request: Request, settings: SettingsDep) -> Response:
    """The widget: one dependency-free script, gzip-encoded when accepted, cached for a week."""
    if not settings.features.widget_enabled:
        raise NotFound("The widget is disabled.")
    asset = script()
    headers = {
        "Cache-Control": SCRIPT_CACHE,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            asset.gzipped, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(asset.raw, media_type="text/javascript", headers=headers)


@router.get("/widget/preview/{tenant_slug}", response_class=HTMLResponse)
async def widget_preview(
    tenant_slug: str,
    session: SessionDep,
    settings: SettingsDep,
    key: Annotated[str | None, Query(max_length=200, description="A publishable key (pk_…).")] = None,
    locale: Annotated[str | None, Query(pattern="^(it|en)$")] = None,
) -> HTMLResponse:
    """A demo page with the tenant's widget and its embed snippet (under a strict CSP)."""
    if not settings.features.widget_enabled:
        raise NotFound("The widget is disabled.")
    widget = await service.load_public(session, tenant_slug, ttl=settings.features.widget_cache_ttl)
    lang = locale or widget.default_language
    page = _preview_html(settings.app.url.rstrip("/"), widget.slug, widget.name, key, lang)
    return HTMLResponse(page, headers={"Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"})


def _preview_html(base: str, slug: str, name: str, key: str | None, lang: str) -> str:
    e = html.escape
    italian = lang == "it"
    key_value = key or "pk_…"
    snippet = f'<script src="{base}{SCRIPT_PATH}" data-tenant="{slug}" data-key="{key_value}" async></script>'
    tag = (
        f'<script src="{SCRIPT_PATH}" data-tenant="{e(slug)}" data-key="{e(key)}" '
        f'data-locale="{e(lang)}" async></script>'
        if key
        else ""
    )
    missing = (
        ""
        if key
        else "<p><strong>"
        + (
            "Aggiungi ?key=pk_… all'indirizzo per provare il widget."
            if italian
            else "Add ?key=pk_… to the address to try the widget."
        )
        + "</strong></p>"
    )
    title = f"Anteprima del widget — {name}" if italian else f"Widget preview — {name}"
    intro = (
        "Questa pagina mostra il widget come lo vedranno i visitatori. Per inserirlo nel tuo sito incolla:"
        if italian
        else "This page shows the widget as visitors will see it. To embed it in your site, paste:"
    )
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{e(title)}</title>'
        f"</head><body><main><h1>{e(title)}</h1><p>{e(intro)}</p><pre><code>{e(snippet)}</code></pre>"
        f"{missing}</main>{tag}</body></html>"
    )
