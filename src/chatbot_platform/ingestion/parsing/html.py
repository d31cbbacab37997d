"""HTML: the page's content without navigation, scripts or cookie banners, structure kept."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PreformattedString

from chatbot_platform.ingestion.parsing.cleanup import normalize_code, normalize_whitespace
from chatbot_platform.ingestion.parsing.render import list_item_markdown, make_table, table_block
from chatbot_platform.ingestion.parsing.text import decode_declared, html_declared_charset
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument

_DROPPED_TAGS = (
    "script", "style", "noscript", "nav", "footer", "aside", "template", "iframe",
    "svg", "canvas", "button", "select", "textarea", "input", "object", "embed", "head",
)  # fmt: skip
_DROPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
_BANNER = re.compile(r"cookie|consent|gdpr|iubenda|onetrust|cookiebot|cc-window|cc-banner", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = frozenset({"ul", "ol", "menu"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "body", "html", "blockquote", "figure", "figcaption",
     "details", "summary", "center", "address", "fieldset", "hgroup", "header", "dd", "dt", "caption",
     "tr", "td", "th", "tbody", "thead", "tfoot", "li", "hr"}
)  # fmt: skip
_SPACE = re.compile(r"\s+")
_PROTECTED = frozenset({"html", "body", "main", "article"})


class HtmlParser:
    """`.html` pages and HTML fragments."""

    mime_types: Sequence[str] = ("text/html", "application/xhtml+xml")
    extensions: Sequence[str] = (".html", ".htm", ".xhtml")

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Headings h1-h6, paragraphs, lists, tables and code; anchors from element ids."""
        soup = BeautifulSoup(decode_declared(data, html_declared_charset(data)), "lxml")
        title = _title(soup)
        blocks = html_blocks(soup)
        if title is None:
            title = next((block.text for block in blocks if block.kind is BlockKind.HEADING), None)
        return ParsedDocument(title=title, blocks=blocks, mime_type=self.mime_types[0])


def html_fragment_blocks(markup: str) -> list[Block]:
    """Blocks of an HTML fragment (e.g. raw HTML inside Markdown)."""
    return html_blocks(BeautifulSoup(markup, "lxml"))


def html_blocks(soup: BeautifulSoup) -> list[Block]:
    """Blocks of the main content of a parsed page, after dropping page furniture."""
    _drop_furniture(soup)
    for root in _content_roots(soup):
        walker = _Walker()
        walker.walk(root)
        walker.flush()
        if walker.blocks:
            return walker.blocks
    return []


def _title(soup: BeautifulSoup) -> str | None:
    tag = soup.find("title")
    text = _SPACE.sub(" ", tag.get_text()).strip() if tag is not None else ""
    return text or None


def _content_roots(soup: BeautifulSoup) -> list[Tag]:
    main = soup.select_one('main, [role="main"]')
    roots = [main] if main is not None else []
    return [*roots, soup.body or soup]


def _drop_furniture(soup: BeautifulSoup) -> None:
    doomed = [tag for tag in soup.find_all(True) if _is_furniture(tag)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def _is_furniture(tag: Tag) -> bool:
    name = tag.name
    if name in _DROPPED_TAGS:
        return True
    # A page-level <header> is the site banner; a <header> inside the article holds its title.
    if name == "header":
        return tag.find_parent(["main", "article"]) is None
    # ASP.NET WebForms pages wrap the whole page in one <form>; keep a form holding the content.
    if name == "form":
        return tag.find(["main", "article", "h1", "h2"]) is None
    if name in _PROTECTED:
        return False
    if _attr(tag, "role") in _DROPPED_ROLES or tag.has_attr("hidden"):
        return True
    if _attr(tag, "aria-hidden") == "true" or _HIDDEN_STYLE.search(_attr(tag, "style")):
        return True
    return bool(_BANNER.search(_attr(tag, "id") + " " + _attr(tag, "class")))


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _text(tag: Tag) -> str:
    return _SPACE.sub(" ", tag.get_text(" ")).strip()


class _Walker:
    """Document-order walk collecting blocks; loose inline text becomes paragraphs."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.inline: list[str] = []
        self.anchor: str | None = None

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, PreformattedString):
                continue
            if isinstance(child, NavigableString):
                self.inline.append(_SPACE.sub(" ", str(child)))
            elif isinstance(child, Tag):
                self.visit(child)

    def visit(self, tag: Tag) -> None:
        self.anchor = _attr(tag, "id") or _attr(tag, "name") or self.anchor
        name = tag.name
        if name == "br":
            self.inline.append("\n")
        elif name in _HEADINGS:
            self.add_heading(tag, _HEADINGS[name])
        elif name in _LISTS or name == "dl":
            self.flush()
            self.add(BlockKind.LIST, "\n".join(_list_lines(tag, 0)))
        elif name == "pre":
            self.flush()
            self.add(BlockKind.CODE, _fenced(tag))
        elif name == "table" and tag.find("table") is None:
            self.flush()
            self.add_table(tag)
        elif name in _BLOCKS or name == "table":  # a table holding tables is layout
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def add_heading(self, tag: Tag, level: int) -> None:
        self.flush()
        anchor_tag = tag.select_one("[id], a[name]")
        if anchor_tag is not None:
            self.anchor = _attr(anchor_tag, "id") or _attr(anchor_tag, "name")
        text = _text(tag)
        if text:
            self.blocks.append(Block(BlockKind.HEADING, text, level=level, anchor=self.anchor))

    def add_table(self, tag: Tag) -> None:
        table = make_table(_table_rows(tag))
        if table is not None:
            self.blocks.append(table_block(table, anchor=self.anchor))

    def add(self, kind: BlockKind, text: str) -> None:
        if text.strip():
            self.blocks.append(Block(kind, text, anchor=self.anchor))

    def flush(self) -> None:
        text = normalize_whitespace("".join(self.inline))
        self.inline.clear()
        self.add(BlockKind.PARAGRAPH, text)


def _list_lines(tag: Tag, depth: int) -> Iterable[str]:
    ordinal = 0
    for item in tag.find_all(["li", "dt", "dd"], recursive=False):
        nested = item.find_all(["ul", "ol", "menu", "dl"], recursive=False)
        for sublist in nested:
            sublist.extract()
        text = _text(item)
        ordinal += 1
        if text:
            number = ordinal if tag.name == "ol" else None
            yield list_item_markdown(text, depth + (item.name == "dd"), ordinal=number)
        for sublist in nested:
            yield from _list_lines(sublist, depth + 1)


def _table_rows(tag: Tag) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in tag.find_all("tr"):
        cells: list[str] = []
        for cell in row.find_all(["th", "td"], recursive=False):
            span = _attr(cell, "colspan")
            cells.extend([_text(cell)] * min(int(span) if span.isdigit() else 1, 50))
        rows.append(cells)
    return rows


def _fenced(tag: Tag) -> str:
    code = normalize_code(tag.get_text())
    return f"```\n{code}\n```" if code.strip() else ""
