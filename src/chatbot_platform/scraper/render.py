"""JavaScript rendering in headless Chromium (Debian's package, driven by Playwright).

Every request the page makes goes through the same SSRF check as the crawler's own fetches, so
a script cannot reach an internal address either.
"""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

from playwright.async_api import Browser, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from chatbot_platform.kit.fetch import USER_AGENT, FetchError, checked_address
from chatbot_platform.scraper.fetching import always_refused

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ALLOWED_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    found = next((path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None)
    return found or shutil.which("chromium")


class RenderError(Exception):
    """The page could not be rendered; the message is safe to show."""


class Renderer:
    """One browser per crawl; a fresh context (no shared cookies) per page."""

    def __init__(self, *, allow_private: bool, headers: dict[str, str]) -> None:
        self.allow_private = allow_private
        self.headers = headers
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def start(self) -> None:
        executable = chromium_path()
        if executable is None:
            raise RenderError("JavaScript rendering needs Chromium, which is not installed on this server.")
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )

    async def render(self, url: str, *, wait_seconds: float) -> str:
        """The page's DOM after its scripts ran and the network went quiet."""
        if self._browser is None:
            await self.start()
        if self._browser is None:
            raise RenderError("The browser did not start.")
        context = await self._browser.new_context(user_agent=USER_AGENT, extra_http_headers=self.headers)
        try:
            await context.route("**/*", self._guard)
            page = await context.new_page()
            await page.goto(url, wait_until="networkidle", timeout=wait_seconds * 1000)
            return await page.content()
        except PlaywrightError as exc:
            raise RenderError(f"Could not render {url}: {exc.message.splitlines()[0][:200]}") from exc
        finally:
            await context.close()

    async def _guard(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ALLOWED_LOCAL_SCHEMES:
            await route.continue_()
            return
        try:
            address = await checked_address(url, allow_private=self.allow_private)
        except FetchError:
            await route.abort("blockedbyclient")
            return
        if always_refused(address):
            await route.abort("blockedbyclient")
            return
        await route.continue_()

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None
