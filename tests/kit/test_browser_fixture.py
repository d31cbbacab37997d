"""The browser fixture drives Debian's Chromium (installed by the test set-up when missing)."""

from playwright.async_api import Page


async def test_chromium_renders(page: Page) -> None:
    await page.set_content("<button id=b onclick=\"this.textContent='ok'\">x</button>")
    await page.click("#b")
    assert await page.text_content("#b") == "ok"
