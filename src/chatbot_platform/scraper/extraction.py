"""Main content of an HTML page as Markdown, plus what the crawler needs: links, canonical, title.

Navigation, headers/footers, cookie banners and hidden elements are dropped by the ingestion HTML
parser's furniture rules (one definition of boilerplate for uploads and the web); headings, lists
and tables are kept, and links inside the content are kept as Markdown links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Tag

from chatbot_platform.ingestion.parsing.html import html_blocks
from chatbot_platform.ingestion.parsing.text import decode_declared, html_declared_charset
from chatbot_platform.ingestion.parsing.types import BlockKind, ParseError
from chatbot_platform.scraper.urls import normalize_url

_SPACE = re.compile(r"\s+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


@dataclass
class ExtractedPage:
    title: str
    markdown: str
    links: list[str] = field(default_factory=list)
    canonical: str | None = None
    noindex: bool = False
    nofollow: bool = False


def decode_html(data: bytes, header_charset: str | None) -> str:
    """The page's text: the HTTP charset, else a BOM or <meta charset>, else detection."""
    try:
        return decode_declared(data, header_charset or html_declared_charset(data))
    except ParseError:
        raise
    except (LookupError, ValueError) as exc:
        raise ParseError("The page's text encoding could not be read.") from exc


def extract(html: str, url: str, *, title_strategy: str = "title_tag") -> ExtractedPage:
    """Parse once: links and metadata first, then the content with the furniture removed."""
    soup = BeautifulSoup(html, "lxml")
    base = _base_url(soup, url)
    robots = " ".join(
        _attr(m, "content") for m in soup.find_all("meta", attrs={"name": re.compile("^robots$", re.I)})
    )
    links = _links(soup, base)
    canonical = _canonical(soup, base)
    title = _title(soup, title_strategy, url)
    _inline_links(soup, base)
    blocks = html_blocks(soup)
    markdown = "\n\n".join(
        f"{'#' * max(1, block.level)} {block.text}" if block.kind is BlockKind.HEADING else block.text
        for block in blocks
    )
    return ExtractedPage(
        title=title,
        markdown=markdown.strip(),
        links=links,
        canonical=canonical,
        noindex="noindex" in robots.lower(),
        nofollow="nofollow" in robots.lower(),
    )


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        resolved = normalize_url(_attr(base, "href"), url)
        if resolved:
            return resolved
    return url


def _links(soup: BeautifulSoup, base: str) -> list[str]:
    found: dict[str, None] = {}
    for anchor in soup.find_all("a", href=True):
        if "nofollow" in _attr(anchor, "rel").lower():
            continue
        resolved = normalize_url(_attr(anchor, "href"), base)
        if resolved:
            found[resolved] = None
    return list(found)


def _canonical(soup: BeautifulSoup, base: str) -> str | None:
    for link in soup.find_all("link", href=True):
        if "canonical" in _attr(link, "rel").lower().split():
            return normalize_url(_attr(link, "href"), base)
    return None


def _title(soup: BeautifulSoup, strategy: str, url: str) -> str:
    candidates: dict[str, str | None] = {
        "title_tag": _text_of(soup.find("title")),
        "h1": _text_of(soup.find("h1")),
        "og_title": _og_title(soup),
        "url": _url_title(url),
    }
    order = [strategy, "title_tag", "h1", "og_title", "url"]
    chosen = next((value for key in order if (value := candidates.get(key))), None)
    return (chosen or url)[:500]


def _text_of(tag: object) -> str | None:
    if not isinstance(tag, Tag):
        return None
    text = _SPACE.sub(" ", tag.get_text(" ")).strip()
    return text or None


def _og_title(soup: BeautifulSoup) -> str | None:
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag):
        return _SPACE.sub(" ", _attr(meta, "content")).strip() or None
    return None


def _url_title(url: str) -> str:
    path = unquote(urlsplit(url).path).strip("/")
    last = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] if path else urlsplit(url).netloc
    return re.sub(r"[-_]+", " ", last).strip().capitalize() or url


def _inline_links(soup: BeautifulSoup, base: str) -> None:
    """`<a href>` inside the text becomes a Markdown link, so answers can point at it."""
    for anchor in soup.find_all("a", href=True):
        if anchor.find_parent(_HEADINGS) is not None:
            continue
        target = normalize_url(_attr(anchor, "href"), base)
        text = _SPACE.sub(" ", anchor.get_text(" ")).strip()
        if target and text and text != target:
            anchor.replace_with(f"[{text}]({target})")
