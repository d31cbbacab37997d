"""Sitemaps and sitemap indexes (XML, optionally gzipped): the page URLs they list."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Awaitable, Callable

from defusedxml import ElementTree  # type: ignore[import-untyped]
from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]

log = logging.getLogger(__name__)
MAX_SITEMAPS = 200
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

Download = Callable[[str], Awaitable[bytes | None]]


def parse_sitemap(data: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of one sitemap or sitemap index; ([], []) when unreadable."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)[:MAX_SITEMAP_BYTES]
        except (OSError, EOFError):
            return [], []
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return [], []
    kind = root.tag.rsplit("}", 1)[-1]
    locations = [
        (element.text or "").strip()
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "loc" and (element.text or "").strip()
    ]
    if kind == "sitemapindex":
        return [], locations
    return locations, []


async def sitemap_pages(roots: list[str], download: Download) -> list[str]:
    """Every page listed by these sitemaps, following indexes (each sitemap read once)."""
    pages: list[str] = []
    queue, seen = list(roots), set(roots)
    while queue and len(seen) <= MAX_SITEMAPS:
        url = queue.pop(0)
        data = await download(url)
        if data is None:
            continue
        found, nested = parse_sitemap(data)
        pages.extend(found)
        for child in nested:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return list(dict.fromkeys(pages))
