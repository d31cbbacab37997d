"""Admin cookies follow the SESSION_* settings; redirects after sign-in stay on the admin UI."""

from __future__ import annotations

from pathlib import Path

from fastapi import Response

from chatbot_platform.admin.auth import SESSION_COOKIE, set_cookie
from chatbot_platform.admin.pages.account import safe_next
from tests.fixtures.database import make_settings


def cookie_header(tmp_path: Path, **overrides: str) -> str:
    response = Response()
    set_cookie(response, make_settings(tmp_path, **overrides), SESSION_COOKIE, "token", max_age=60)
    return response.headers["set-cookie"]


def test_cookies_are_secure_strict_and_scoped_as_configured(tmp_path: Path) -> None:
    header = cookie_header(
        tmp_path,
        SESSION_SECURE_COOKIE="true",
        SESSION_SAME_SITE="strict",
        SESSION_DOMAIN="admin.example.com",
        SESSION_PATH="/admin",
    )
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Domain=admin.example.com" in header
    assert "Path=/admin" in header
    assert "Max-Age=60" in header


def test_the_defaults_are_http_only_lax_and_site_wide(tmp_path: Path) -> None:
    header = cookie_header(tmp_path)
    assert "Secure" not in header
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert "Path=/;" in header or header.endswith("Path=/")


def test_the_page_after_sign_in_is_always_one_of_ours() -> None:
    assert safe_next("/admin/t/acme/documents?kb=1") == "/admin/t/acme/documents?kb=1"
    for evil in (
        "//evil.example/admin/",
        "https://evil.example/",
        "/admin/\\evil.example",
        "/other",
        "",
        None,
    ):
        assert safe_next(evil) == "/admin/", evil
