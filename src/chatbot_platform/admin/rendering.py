"""Pages: Jinja2 templates with autoescape on, the translator and the CSRF token in every context."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chatbot_platform.admin.auth import CSRF_COOKIE, AdminContext, Permission, set_cookie
from chatbot_platform.admin.i18n import MESSAGES, translate
from chatbot_platform.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
NOTICES = frozenset(
    k
    for k in MESSAGES
    if k.startswith(("flash.", "knowledge.", "documents.", "reset.", "scraper.", "widget."))
)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "—"


environment.filters["when"] = _when


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    settings = cast(Settings, request.app.state.settings)
    locale: str = getattr(request.state, "locale", settings.app.locale)
    admin: AdminContext | None = getattr(request.state, "admin", None)
    csrf: str = getattr(request.state, "csrf_token", "")
    notice = request.query_params.get("notice")
    values = {
        "t": partial(translate, locale),
        "locale": locale,
        "app_name": settings.app.name,
        "admin": admin,
        "tenant": admin.tenant if admin else None,
        "P": Permission,
        "csrf_token": csrf,
        "notice": notice if notice in NOTICES else None,
        "request_path": request.url.path,
        **context,
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    if csrf and request.cookies.get(CSRF_COOKIE) != csrf:
        set_cookie(response, settings, CSRF_COOKIE, csrf, max_age=None)
    return response


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """After a successful POST: see the result with GET (303)."""
    if notice:
        url += ("&" if "?" in url else "?") + f"notice={notice}"
    return RedirectResponse(url, status_code=303)


def tenant_url(admin: AdminContext, path: str = "") -> str:
    return f"/admin/t/{admin.current_tenant.slug}{path}"
