"""The website widget as a visitor's browser loads it: bytes on the wire, requests before the first
interaction, and time from the script's arrival to an interactive launcher.

`cbp serve` (embedded PostgreSQL, defaults) serves the widget; a page on another origin embeds it
with the one tag under a strict Content-Security-Policy; Debian's Chromium (headless, through
Playwright) loads that page in a fresh context each time (empty cache), `--runs` times.

- Transfer size: every response from the platform as the browser received it (encoded body plus
  headers), before the first interaction (the script and the configuration), then for opening the
  widget and asking one question (session start and the streamed answer; the answer's size depends
  on the answer, so it is shown apart).
- Requests before first interaction: requests to the platform started before the widget marks
  itself interactive (`performance.mark("cbp:interactive")`, once the launcher can be used).
- Time to interactive: from the end of the script's response (Resource Timing `responseEnd`) to
  that mark: parsing and running the script, fetching the configuration, building the shadow DOM.

Budgets (issue 7): ≤ 35 KB gzip in total, ≤ 2 requests before first interaction, interactive
≤ 300 ms after the script arrives.

    python bench/widget.py              # about 1 minute
    python bench/widget.py --no-write   # print only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import write_section  # noqa: E402
from bench.ingest import ADMIN, platform_server  # noqa: E402

BUDGET_BYTES = 35 * 1024
BUDGET_REQUESTS = 2
BUDGET_MS = 300.0


async def provision(base: str, host_origin: str) -> tuple[str, str]:
    """A tenant with one text document, a publishable key, and the host's origin allowed."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        admin = {"X-Admin-Token": ADMIN}
        tenant = (await http.post("/api/v1/tenants", json={"name": "Bench widget"}, headers=admin)).json()
        key = (
            await http.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "b"}, headers=admin)
        ).json()
        http.headers["Authorization"] = f"Bearer {key['key']}"
        await http.post(
            "/api/v1/documents",
            json={
                "knowledge_base_id": tenant["default_knowledge_base_id"],
                "title": "Carta d'identità",
                "text": "La carta d'identità elettronica costa 22 euro e si richiede all'anagrafe.",
            },
        )
        widget_key = (await http.post("/api/v1/widget/keys", json={"name": "bench"})).json()["key"]
        await http.patch("/api/v1/widget/config", json={"allowed_origins": [host_origin]})
        return str(tenant["slug"]), str(widget_key)


async def one_load(browser: Any, url: str, platform: str, *, ask: bool) -> dict[str, Any]:
    context = await browser.new_context()
    page = await context.new_page()
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if r.url.startswith(platform) else None)
    await page.goto(url)
    await page.wait_for_function(
        "() => window.ChatbotPlatform && window.ChatbotPlatform.ready", timeout=30000
    )
    timing = await page.evaluate(
        """() => { const mark = performance.getEntriesByName('cbp:interactive')[0].startTime;
        const started = performance.getEntriesByName('cbp:start')[0].startTime;
        const entries = performance.getEntriesByType('resource')
            .map(e => ({name: e.name, start: e.startTime, end: e.responseEnd}));
        return {mark, started, entries}; }"""
    )
    platform_entries = [e for e in timing["entries"] if e["name"].startswith(platform)]
    script = next(e for e in platform_entries if e["name"].endswith("/widget/v1/widget.js"))
    config = next(e for e in platform_entries if "/config?" in e["name"])
    before = [e for e in platform_entries if e["start"] <= timing["mark"]]
    loaded = list(responses)
    result: dict[str, Any] = {
        "interactive_ms": timing["mark"] - script["end"],
        "config_ms": config["end"] - config["start"],
        "start_ms": timing["started"] - script["end"],
        "requests_before": len(before),
        "load_bytes": await _bytes(loaded),
        "load_files": sorted({r.url.split("?")[0].removeprefix(platform) for r in loaded}),
    }
    if ask:
        await page.evaluate("() => ChatbotPlatform.send('Quanto costa la carta d\\'identità?')")
        await page.wait_for_function(
            "() => document.querySelector('#chatbot-platform-widget').shadowRoot.querySelector('.m.a .sc')",
            timeout=60000,
        )
        later = [r for r in responses if r not in loaded]
        result["ask_bytes"] = await _bytes(later)
        result["ask_files"] = sorted({r.url.split("?")[0].removeprefix(platform) for r in later})
    await context.close()
    return result


async def _bytes(responses: list[Any]) -> int:
    total = 0
    for response in responses:
        sizes = await response.request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    return total


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(base: str, runs: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright
    from tests.fixtures.browser import ensure_chromium
    from tests.widget.hosts import host_site

    with host_site(base) as host:
        slug, key = await provision(base, host.origin())
        url = host.page(slug, key)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=ensure_chromium(), headless=True, args=["--no-sandbox"]
            )
            await one_load(browser, url, base, ask=False)  # warm the server (first imports, caches)
            loads = [await one_load(browser, url, base, ask=i == 0) for i in range(runs)]
            await browser.close()
    load_average = os.getloadavg()[0]
    interactive = [r["interactive_ms"] for r in loads]
    config = [r["config_ms"] for r in loads]
    start = [r["start_ms"] for r in loads]
    return {
        "runs": runs,
        "load_average": load_average,
        "interactive_median": statistics.median(interactive),
        "interactive_p95": _p(interactive, 0.95),
        "interactive_max": max(interactive),
        "config_median": statistics.median(config),
        "config_p95": _p(config, 0.95),
        "start_median": statistics.median(start),
        "start_p95": _p(start, 0.95),
        "requests_before": max(r["requests_before"] for r in loads),
        "load_bytes": max(r["load_bytes"] for r in loads),
        "load_files": loads[0]["load_files"],
        "ask_bytes": loads[0]["ask_bytes"],
        "ask_files": loads[0]["ask_files"],
    }


def report(figures: dict[str, Any]) -> str:
    import gzip

    raw = (ROOT / "src/chatbot_platform/widget/static/widget.js").read_bytes()
    ok = {
        "bytes": figures["load_bytes"] <= BUDGET_BYTES,
        "requests": figures["requests_before"] <= BUDGET_REQUESTS,
        "ms": figures["interactive_median"] <= BUDGET_MS,
        "ms_p95": figures["interactive_p95"] <= BUDGET_MS,
    }
    mark = {True: "within budget", False: "OVER BUDGET"}
    load_files, ask_files = ", ".join(figures["load_files"]), ", ".join(figures["ask_files"])
    rows = [
        (
            f"Transferred before first interaction ({load_files})",
            f"{figures['load_bytes'] / 1024:.1f} KB",
            f"≤ 35 KB ({mark[ok['bytes']]})",
        ),
        (
            "Requests before first interaction",
            str(figures["requests_before"]),
            f"≤ 2 ({mark[ok['requests']]})",
        ),
        (
            "Script arrived → interactive, median / p95 / max",
            f"{figures['interactive_median']:.0f} / {figures['interactive_p95']:.0f} / "
            f"{figures['interactive_max']:.0f} ms",
            f"≤ 300 ms (median {mark[ok['ms']]}, p95 {mark[ok['ms_p95']]})",
        ),
        (
            "of which waiting for the script to run, median / p95",
            f"{figures['start_median']:.0f} / {figures['start_p95']:.0f} ms",
            "none",
        ),
        (
            "of which the configuration's round trip, median / p95",
            f"{figures['config_median']:.0f} / {figures['config_p95']:.0f} ms",
            "none",
        ),
        (f"Opening and one question ({ask_files})", f"{figures['ask_bytes'] / 1024:.1f} KB", "none"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return (
        f"Debian Chromium (headless), a page on another origin under a strict CSP, {figures['runs']} "
        "cold loads (a fresh browser context each), `cbp serve` with the embedded PostgreSQL on the "
        f"same machine (load average {figures['load_average']:.1f} at the end: other work shares the cores, "
        "which the p95 shows).\n\n| Measure | Result | Budget |\n|---|---|---|\n"
        f"{table}\n\n`widget.js` is {len(raw) / 1024:.1f} KB unminified, "
        f"{len(gzip.compress(raw, 9)) / 1024:.1f} KB gzip; transfer sizes include response headers. "
        "The question's bytes are mostly the streamed answer and its sources.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with platform_server({"WIDGET_RATE_LIMIT": "10000"}) as base:
        figures = asyncio.run(measure(base, args.runs))
    text = report(figures)
    print(text)
    if not args.no_write:
        write_section("widget", "Website widget: size, requests and time to interactive", text)


if __name__ == "__main__":
    main()
