"""The crawl: a bounded pool of workers over a frontier of (url, depth), polite per host.

The crawler knows nothing about the database: it asks a `Sink` what it saw last time (validators,
content hash, outgoing links) and tells it what changed. Unchanged pages cost one conditional
request (a 304) or one fetch and hash; only new or changed content is handed to ingestion.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from chatbot_platform.ingestion.parsing.types import ParseError
from chatbot_platform.kit.fetch import FetchError
from chatbot_platform.scraper.extraction import ExtractedPage, decode_html, extract
from chatbot_platform.scraper.fetching import Fetcher, Response, SizeExceeded
from chatbot_platform.scraper.render import Renderer, RenderError
from chatbot_platform.scraper.robots import Robots
from chatbot_platform.scraper.schemas import CrawlOptions
from chatbot_platform.scraper.sitemap import MAX_SITEMAP_BYTES, sitemap_pages
from chatbot_platform.scraper.slots import LocalSlots, Slots
from chatbot_platform.scraper.urls import Scope, extension_of, host_of, normalize_url

log = logging.getLogger(__name__)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
DOCUMENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "text/csv": "csv",
    "text/plain": "txt",
    "text/markdown": "md",
}
PROGRESS_SECONDS = 0.5
MB = 1024 * 1024


@dataclass
class Counters:
    found: int = 0
    fetched: int = 0
    skipped: int = 0
    failed: int = 0
    ingested: int = 0
    vanished: int = 0
    removed: int = 0
    processed: int = 0  # URLs taken off the frontier (for a progress bar; not stored)


@dataclass(frozen=True)
class Previous:
    """What the last run stored about a URL."""

    content_hash: str | None
    etag: str | None
    last_modified: str | None
    links: list[str]
    kind: str


@dataclass(frozen=True)
class PageContent:
    url: str  # canonical: the document's external_id
    kind: str  # page | document | links_only
    title: str
    data: bytes
    filename: str
    mime_type: str
    content_hash: str
    etag: str | None
    last_modified: str | None
    links: list[str]


class Sink(Protocol):
    def previous(self, url: str) -> Previous | None: ...
    def known_hashes(self) -> dict[str, str]: ...  # content hash -> URL of what is ingested
    async def seen(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        links: list[str] | None,
        kind: str | None = None,
    ) -> None: ...
    async def store(self, content: PageContent) -> bool: ...  # True: sent to ingestion
    async def failed(self, url: str, reason: str) -> None: ...
    async def gone(self, url: str) -> None: ...
    async def progress(self, counters: Counters) -> bool: ...  # True: cancel requested


class HostPacer:
    """Request starts to one host at least `interval` seconds apart."""

    def __init__(self) -> None:
        self.last_start: dict[str, float] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def wait(self, host: str, interval: float) -> None:
        async with self.locks.setdefault(host, asyncio.Lock()):
            now = time.monotonic()
            start = max(now, self.last_start.get(host, -interval) + interval)
            self.last_start[host] = start
        if start > now:
            await asyncio.sleep(start - now)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Outcome:
    cancelled: bool = False
    limited: bool = False  # max_pages stopped the crawl: pages not seen may still exist
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.cancelled and not self.limited


class Crawl:
    def __init__(
        self,
        options: CrawlOptions,
        sink: Sink,
        *,
        allow_private: bool,
        max_concurrent: int,
        slots: Slots | None = None,
    ) -> None:
        self.options = options
        self.sink = sink
        self.max_concurrent = max_concurrent
        self.slots = slots or LocalSlots(max_concurrent)
        self.fetcher = Fetcher(
            allow_private=allow_private,
            timeout=options.timeout,
            headers=dict(options.headers),
            max_connections=max_concurrent,
        )
        self.pacer = HostPacer()
        self.robots = Robots(self.fetcher, self._pace_plain)
        self.renderer = (
            Renderer(allow_private=allow_private, headers=dict(options.headers))
            if options.render_js
            else None
        )
        starts = [str(u) for u in [*options.seeds, *options.sitemaps]]
        self.scope = Scope.build(
            list(options.allowed_domains),
            list(options.include_patterns),
            list(options.exclude_patterns),
            list(options.link_only_patterns),
            starts,
        )
        self.counters = Counters()
        self.outcome = Outcome()
        self.frontier: asyncio.Queue[tuple[str, int, bool]] = asyncio.Queue()
        self.queued: set[str] = set()
        self.done_keys: set[str] = set()
        self.hashes: dict[str, str] = sink.known_hashes()  # a page's twin stays a duplicate across runs
        self.cancel = asyncio.Event()

    # -- driving --------------------------------------------------------------------------------

    async def run(self) -> Outcome:
        reporter = asyncio.create_task(self._report_progress())
        try:
            for url in await self._sitemap_urls():
                self._add(url, 0)
            for seed in self.options.seeds:
                self._add(str(seed), 0)
            workers = [asyncio.create_task(self._work()) for _ in range(self.max_concurrent)]
            join = asyncio.create_task(self.frontier.join())
            cancelled = asyncio.create_task(self.cancel.wait())
            await asyncio.wait([join, cancelled], return_when=asyncio.FIRST_COMPLETED)
            for task in (*workers, join, cancelled):
                task.cancel()
            await asyncio.gather(*workers, join, cancelled, return_exceptions=True)
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
            await self.fetcher.aclose()
            if self.renderer is not None:
                await self.renderer.aclose()
        self.outcome.cancelled = self.cancel.is_set()
        await self.sink.progress(self.counters)
        return self.outcome

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            if await self.sink.progress(self.counters):
                self.cancel.set()

    async def _sitemap_urls(self) -> list[str]:
        roots = [str(u) for u in self.options.sitemaps]
        if not roots:
            return []

        async def download(url: str) -> bytes | None:
            try:
                response = await self._fetch(url, max_bytes=MAX_SITEMAP_BYTES)
            except FetchError as exc:
                self.outcome.errors.append(f"sitemap {url}: {exc}")
                return None
            return response.content if response.status_code == 200 else None

        return await sitemap_pages(roots, download)

    def _add(self, url: str, depth: int, *, as_document: bool = False) -> None:
        if url in self.queued:  # most links point at pages already queued (stored links are normalised)
            return
        normalized = normalize_url(url)
        if normalized is None or normalized in self.queued or not self.scope.allows(normalized):
            return
        if len(self.queued) >= self.options.max_pages:
            self.outcome.limited = True
            return
        self.queued.add(normalized)
        self.counters.found += 1
        self.frontier.put_nowait((normalized, depth, as_document))

    async def _work(self) -> None:
        while True:
            url, depth, as_document = await self.frontier.get()
            try:
                if not self.cancel.is_set():
                    await self._visit(url, depth, as_document)
            except Exception as exc:  # one bad page must never end the crawl
                log.exception("page failed", extra={"url": url})
                await self._fail(url, f"Unexpected error: {type(exc).__name__}.")
            finally:
                self.counters.processed += 1
                self.frontier.task_done()

    # -- one URL --------------------------------------------------------------------------------

    async def _pace_plain(self, url: str) -> None:
        """Pacing before robots.txt is known (the robots.txt request itself)."""
        await self.pacer.wait(host_of(url), 1.0 / self.options.rate_limit)

    async def _pace(self, url: str) -> None:
        interval = 1.0 / self.options.rate_limit
        if self.options.respect_robots:
            delay = (await self.robots.rules(url)).crawl_delay
            interval = max(interval, delay or 0.0)
        await self.pacer.wait(host_of(url), interval)

    async def _fetch(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None) -> Response:
        if self.options.respect_robots:
            await self.robots.rules(url)  # before taking a slot: it may fetch robots.txt
        async with self.slots.hold():
            await self._pace(url)  # inside the slot, so that waiting for one cannot bunch requests
            try:
                async with asyncio.timeout(self.options.timeout * 2):
                    return await self.fetcher.get(
                        url, max_bytes=max_bytes, headers=headers, before_hop=self._pace
                    )
            except TimeoutError as exc:
                raise FetchError(f"Timed out fetching {url}.") from exc

    async def _visit(self, url: str, depth: int, as_document: bool) -> None:
        if self.options.respect_robots and not (await self.robots.rules(url)).allows(url):
            self.counters.skipped += 1
            return
        previous = self.sink.previous(url)
        is_document = as_document or extension_of(url) in self.options.document_types
        limit = self.options.max_document_mb if is_document else self.options.max_page_mb
        try:
            response = await self._fetch(url, max_bytes=int(limit * MB), headers=_conditional(previous))
        except SizeExceeded as exc:
            await self._fail(url, str(exc))
            return
        except FetchError as exc:
            await self._fail(url, str(exc))
            return
        self.counters.fetched += 1
        if response.status_code == 304 and previous is not None:
            self.counters.skipped += 1
            await self.sink.seen(url, etag=None, last_modified=None, links=None)
            self._follow(previous.links, depth)
            return
        if response.status_code in (404, 410):
            self.counters.failed += 1
            await self.sink.gone(url)
            return
        if response.status_code >= 300:
            await self._fail(url, f"The page answered HTTP {response.status_code}.")
            return
        final = normalize_url(response.url) or url
        if final != url and (final in self.done_keys or not self.scope.allows(final)):
            self.counters.skipped += 1  # a redirect to a page already seen, or out of scope
            return
        kind = response.content_type
        if kind in HTML_TYPES and not is_document:
            await self._page(url, final, depth, response, previous)
        elif self.options.download_documents and (
            DOCUMENT_TYPES.get(kind) in self.options.document_types or is_document
        ):
            await self._document(final, response, previous)
        else:
            self.counters.skipped += 1  # images, archives, JSON, ...: not content we ingest

    async def _page(
        self, url: str, final: str, depth: int, response: Response, previous: Previous | None
    ) -> None:
        try:
            html = decode_html(response.content, response.charset)
            if self.renderer is not None:
                html = await self.renderer.render(final, wait_seconds=self.options.timeout)
            page = await asyncio.to_thread(extract, html, final, title_strategy=self.options.title_strategy)
        except (ParseError, RenderError) as exc:
            await self._fail(url, getattr(exc, "reason", None) or str(exc))
            return
        key = page.canonical if page.canonical and self.scope.domain_allowed(page.canonical) else final
        links = [] if page.nofollow else page.links
        self._follow(links, depth)
        if key in self.done_keys:
            self.counters.skipped += 1  # another URL of a page already handled (canonical)
            return
        self.done_keys.add(key)
        if self.scope.links_only(url) or page.noindex:
            self.counters.skipped += 1
            await self.sink.seen(key, etag=None, last_modified=None, links=links, kind="links_only")
            return
        await self._store_page(key, page, links, response, previous)

    async def _store_page(
        self, key: str, page: ExtractedPage, links: list[str], response: Response, previous: Previous | None
    ) -> None:
        if not page.markdown.strip():
            await self._fail(key, "The page has no text content.")
            return
        data = page.markdown.encode()
        digest = sha256(data)
        if self.hashes.setdefault(digest, key) != key:
            self.counters.skipped += 1  # the same content under another URL: ingested once
            await self.sink.seen(key, etag=None, last_modified=None, links=links)
            return
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if previous is not None and previous.content_hash == digest:
            self.counters.skipped += 1
            await self.sink.seen(key, etag=etag, last_modified=modified, links=links)
            return
        content = PageContent(
            key, "page", page.title, data, "page.md", "text/markdown", digest, etag, modified, links
        )
        if await self.sink.store(content):
            self.counters.ingested += 1
        else:
            self.counters.skipped += 1

    async def _document(self, url: str, response: Response, previous: Previous | None) -> None:
        self.done_keys.add(url)
        digest = sha256(response.content)
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if not response.content:
            await self._fail(url, "The file is empty.")
            return
        if previous is not None and previous.content_hash == digest:
            self.counters.skipped += 1
            await self.sink.seen(url, etag=etag, last_modified=modified, links=[])
            return
        name = url.rstrip("/").rsplit("/", 1)[-1] or "file"
        extension = DOCUMENT_TYPES.get(response.content_type) or extension_of(url)
        filename = name if name.lower().endswith(f".{extension}") else f"{name}.{extension}"
        title = name.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").strip() or name
        content = PageContent(
            url,
            "document",
            title,
            response.content,
            filename,
            response.content_type or "application/octet-stream",
            digest,
            etag,
            modified,
            [],
        )
        if await self.sink.store(content):
            self.counters.ingested += 1
        else:
            self.counters.skipped += 1

    def _follow(self, links: list[str], depth: int) -> None:
        if depth >= self.options.max_depth:
            return
        for link in links:
            document = extension_of(link) in self.options.document_types
            if document and not self.options.download_documents:
                continue
            self._add(link, depth + 1, as_document=document)

    async def _fail(self, url: str, reason: str) -> None:
        self.counters.failed += 1
        await self.sink.failed(url, reason)


def _conditional(previous: Previous | None) -> dict[str, str] | None:
    if previous is None:
        return None
    headers = {}
    if previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    return headers or None
