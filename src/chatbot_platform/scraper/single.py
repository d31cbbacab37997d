"""One page scraped now (`POST /api/v1/scraper/scrape-url`, `cbp scrape url`), no configuration."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from chatbot_platform.ingestion import service as ingestion
from chatbot_platform.ingestion.parsing.types import ParseError
from chatbot_platform.kit.fetch import FetchError
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import DocumentSource
from chatbot_platform.scraper.crawler import DOCUMENT_TYPES, HTML_TYPES, MB
from chatbot_platform.scraper.errors import PageNotScraped, ScraperDisabled
from chatbot_platform.scraper.extraction import decode_html, extract
from chatbot_platform.scraper.fetching import Fetcher
from chatbot_platform.scraper.render import Renderer, RenderError
from chatbot_platform.scraper.robots import Robots
from chatbot_platform.scraper.schemas import ScrapedPage, ScrapeUrl
from chatbot_platform.scraper.urls import host_of, normalize_url

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAX_PAGE_BYTES = 20 * MB


async def scrape_one(services: Services, tenant_id: uuid.UUID, data: ScrapeUrl) -> ScrapedPage:
    if not services.settings.features.scraper_enabled:
        raise ScraperDisabled()
    async with services.database.transaction() as session:
        await knowledge.get_or_raise(session, tenant_id, data.knowledge_base_id)
    url = normalize_url(str(data.url)) or str(data.url)
    allow_private = services.settings.security.fetch_allow_private_networks
    fetcher = Fetcher(allow_private=allow_private, timeout=data.timeout, headers=dict(data.headers))
    try:
        if data.respect_robots and not (await Robots(fetcher).rules(url)).allows(url):
            raise PageNotScraped("robots.txt does not allow fetching this page.")
        async with asyncio.timeout(data.timeout * 2):
            response = await fetcher.get(url, max_bytes=MAX_PAGE_BYTES)
    except (FetchError, TimeoutError) as exc:
        raise PageNotScraped(str(exc) or "Timed out fetching the page.") from None
    finally:
        await fetcher.aclose()
    if response.status_code >= 400:
        raise PageNotScraped(f"The page answered HTTP {response.status_code}.")
    final = normalize_url(response.url) or url
    if response.content_type in DOCUMENT_TYPES:
        name = final.rstrip("/").rsplit("/", 1)[-1] or "file"
        content = ingestion.Content(
            source=DocumentSource.LINKED_FILE,
            filename=name,
            data=response.content,
            mime_type=response.content_type,
        )
        return await _ingest(services, tenant_id, data, final, name, content)
    if response.content_type not in HTML_TYPES:
        raise PageNotScraped(f"The URL is not a web page ({response.content_type}).")
    try:
        html = decode_html(response.content, response.charset)
        if data.render_js:
            renderer = Renderer(allow_private=allow_private, headers=dict(data.headers))
            try:
                html = await renderer.render(final, wait_seconds=data.timeout)
            finally:
                await renderer.aclose()
        page = await asyncio.to_thread(extract, html, final, title_strategy=data.title_strategy)
    except ParseError as exc:
        raise PageNotScraped(exc.reason) from None
    except RenderError as exc:
        raise PageNotScraped(str(exc)) from None
    if not page.markdown:
        raise PageNotScraped("The page has no text content.")
    key = page.canonical if page.canonical and host_of(page.canonical) == host_of(final) else final
    content = ingestion.Content(
        source=DocumentSource.WEB_PAGE,
        filename="page.md",
        data=page.markdown.encode(),
        mime_type="text/markdown",
    )
    return await _ingest(services, tenant_id, data, key, page.title, content)


async def _ingest(
    services: Services,
    tenant_id: uuid.UUID,
    data: ScrapeUrl,
    key: str,
    title: str,
    content: ingestion.Content,
) -> ScrapedPage:
    async with services.database.transaction() as session:
        accepted = await ingestion.accept(
            session,
            services.files,
            tenant_id,
            knowledge_base_id=data.knowledge_base_id,
            title=title,
            content=content,
            external_id=key[:500],
            metadata={"url": key},
            knowledge_base_checked=True,
        )
        accepted.document.source_url = key
    return ScrapedPage(
        document_id=accepted.document.id,
        url=key,
        title=title,
        unchanged=accepted.unchanged,
        characters=len(content.data),
    )
