"""PDF (pypdf): text page by page, headings from font sizes, paragraphs from line spacing."""

from __future__ import annotations

import io
import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PdfReader

from chatbot_platform.ingestion.parsing.cleanup import (
    furniture_mask,
    join_wrapped_lines,
    normalize_whitespace,
)
from chatbot_platform.ingestion.parsing.render import list_item_markdown
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument, ParseError

HEADING_SCALE = 1.15  # a line this much larger than the body font is a heading
MAX_HEADING_CHARS = 150
PARAGRAPH_GAP = 1.4  # a vertical gap this many line spacings wide starts a new paragraph
SHORT_LINE = 0.7  # a sentence ending on a line this short (vs. the page's usual) ends the paragraph

_BULLET = re.compile(r"^(?:[•◦▪▫‣●○■□\u2013\u2014*\uf0b7\uf0a7-]|\d{1,3}[.)]|[a-z][.)])\s+")
# Titles that office tools write on their own: "Microsoft Word - bozza.docx", "Untitled", "Document1".
_JUNK_TITLE = re.compile(
    r"^(?:microsoft \w+ - |untitled|senza titolo|document\d*$)|\.\w{2,4}$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?:;…»\"”)]$")


@dataclass
class _Line:
    text: str
    size: float  # effective font size in points
    y: float | None  # baseline height on the page


class PdfParser:
    """`.pdf` files with a text layer; scanned PDFs are refused (no OCR)."""

    mime_types: Sequence[str] = ("application/pdf", "application/x-pdf")
    extensions: Sequence[str] = (".pdf",)

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Headings, paragraphs and lists, each with its 1-based page number."""
        reader = _open(data)
        pages, unreadable = _read_pages(reader)
        if not any(any(line.text.strip() for line in page) for page in pages):
            if unreadable and len(unreadable) == len(pages):
                raise ParseError("The PDF is corrupt: no page could be read.")
            raise ParseError(
                "No text could be extracted from the PDF: it may be a scan (OCR is not supported)."
            )
        pages = _drop_furniture(pages)
        blocks = _merge_across_pages(list(_document_blocks(pages)))
        metadata: dict[str, Any] = {"unreadable_pages": unreadable} if unreadable else {}
        return ParsedDocument(
            title=_title(reader, blocks),
            blocks=blocks,
            mime_type=self.mime_types[0],
            pages=len(pages),
            metadata=metadata,
        )


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _unlock(reader):
            raise ParseError(
                "The PDF is encrypted (password-protected); remove the password and upload it again."
            )
        _ = len(reader.pages)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError("The PDF is corrupt or truncated and cannot be read.") from exc
    return reader


def _unlock(reader: PdfReader) -> bool:
    # Many PDFs are "encrypted" only to restrict printing or copying: the empty user password opens them.
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _read_pages(reader: PdfReader) -> tuple[list[list[_Line]], list[int]]:
    pages: list[list[_Line]] = []
    unreadable: list[int] = []
    for number, page in enumerate(reader.pages, 1):
        try:
            pages.append(_page_lines(page))
        except Exception:
            unreadable.append(number)
            pages.append([])
    return pages, unreadable


def _page_lines(page: PageObject) -> list[_Line]:
    collector = _LineCollector()
    page.extract_text(visitor_text=collector.visit)
    collector.end_line()
    return collector.lines


class _LineCollector:
    """Rebuilds pypdf's text output line by line, remembering font size and height of each line."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.parts: list[str] = []
        self.size = 0.0
        self.y: float | None = None

    def visit(self, text: Any, cm: Any, tm: Any, _font: Any, font_size: Any) -> None:
        pieces = str(text).split("\n")
        for index, piece in enumerate(pieces):
            if index:
                self.end_line()
            self.parts.append(piece)
            if piece.strip():
                size, y = _geometry(cm, tm, font_size)
                self.size = max(self.size, size)
                self.y = y if self.y is None else self.y

    def end_line(self) -> None:
        text = normalize_whitespace("".join(self.parts))
        if text:
            self.lines.append(_Line(text.replace("\n", " "), self.size, self.y))
        self.parts, self.size, self.y = [], 0.0, None


def _geometry(cm: Any, tm: Any, font_size: Any) -> tuple[float, float | None]:
    try:
        c = float(tm[2]) * float(cm[0]) + float(tm[3]) * float(cm[2])
        d = float(tm[2]) * float(cm[1]) + float(tm[3]) * float(cm[3])
        y = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])
        return round(float(font_size) * math.hypot(c, d) * 2) / 2, y
    except (TypeError, ValueError, IndexError):
        return 0.0, None


def _drop_furniture(pages: list[list[_Line]]) -> list[list[_Line]]:
    mask = furniture_mask(
        [[line.text for line in page] for page in pages], [[line.y for line in page] for page in pages]
    )
    return [
        [line for line, drop in zip(page, flags, strict=True) if not drop]
        for page, flags in zip(pages, mask, strict=True)
    ]


@dataclass(frozen=True)
class _Style:
    body_size: float
    heading_levels: dict[float, int]
    line_spacing: float | None


def _style(pages: Sequence[Sequence[_Line]]) -> _Style:
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page:
            sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    larger = sorted(
        {line.size for page in pages for line in page if _heading_candidate(line, body)}, reverse=True
    )
    return _Style(
        body, {size: min(index + 1, 6) for index, size in enumerate(larger)}, _line_spacing(pages, body)
    )


def _heading_candidate(line: _Line, body_size: float) -> bool:
    if body_size <= 0 or line.size < body_size * HEADING_SCALE or len(line.text) > MAX_HEADING_CHARS:
        return False
    return sum(1 for char in line.text if char.isalpha()) >= 2


def _line_spacing(pages: Sequence[Sequence[_Line]], body_size: float) -> float | None:
    gaps = [
        previous.y - line.y
        for page in pages
        for previous, line in itertools.pairwise(page)
        if previous.y is not None and line.y is not None and previous.size == line.size == body_size
        and previous.y > line.y
    ]  # fmt: skip
    return statistics.median(gaps) if gaps else None


def _document_blocks(pages: Sequence[Sequence[_Line]]) -> Iterator[Block]:
    style = _style(pages)
    for number, page in enumerate(pages, 1):
        yield from _PageAssembler(style, number, page).blocks()


class _PageAssembler:
    """Groups one page's lines into heading, paragraph and list blocks."""

    def __init__(self, style: _Style, number: int, lines: Sequence[_Line]) -> None:
        self.style = style
        self.number = number
        self.lines = lines
        body = [len(line.text) for line in lines if line.size == style.body_size]
        self.full_width = max(body) if body else 0
        self.out: list[Block] = []
        self.group: list[_Line] = []
        self.kind = BlockKind.PARAGRAPH
        self.items: list[list[str]] = []

    def blocks(self) -> list[Block]:
        previous: _Line | None = None
        for line in self.lines:
            level = (
                self.style.heading_levels.get(line.size)
                if _heading_candidate(line, self.style.body_size)
                else None
            )
            if level is not None:
                self.add_heading_line(line, level, previous)
            elif _BULLET.match(line.text):
                if self.kind is not BlockKind.LIST:
                    self.start(BlockKind.LIST)
                self.items.append([_BULLET.sub("", line.text)])
            else:
                self.add_body_line(line, previous)
            previous = line
        self.start(BlockKind.PARAGRAPH)
        return self.out

    def add_heading_line(self, line: _Line, level: int, previous: _Line | None) -> None:
        last = self.out[-1] if self.out and not self.group and not self.items else None
        if last is not None and last.kind is BlockKind.HEADING and _wrapped(previous, line):
            self.out[-1] = Block(BlockKind.HEADING, f"{last.text} {line.text}", level=level, page=self.number)
            return
        self.start(BlockKind.PARAGRAPH)
        self.out.append(Block(BlockKind.HEADING, line.text, level=level, page=self.number))

    def add_body_line(self, line: _Line, previous: _Line | None) -> None:
        if self.items and previous is not None and not self.breaks(previous, line):
            self.items[-1].append(line.text)  # continuation of a list item
            return
        if self.kind is BlockKind.LIST or (previous is not None and self.breaks(previous, line)):
            self.start(BlockKind.PARAGRAPH)
        self.group.append(line)

    def breaks(self, previous: _Line, line: _Line) -> bool:
        if previous.size != line.size:
            return True
        spacing = self.style.line_spacing
        if spacing and previous.y is not None and line.y is not None:
            gap = previous.y - line.y
            if gap < 0 or gap > spacing * PARAGRAPH_GAP:
                return True
        short = len(previous.text) < self.full_width * SHORT_LINE
        return short and bool(_SENTENCE_END.search(previous.text))

    def start(self, kind: BlockKind) -> None:
        if self.group:
            self.out.append(
                Block(
                    BlockKind.PARAGRAPH,
                    join_wrapped_lines([line.text for line in self.group]),
                    page=self.number,
                )
            )
        if self.items:
            text = "\n".join(list_item_markdown(join_wrapped_lines(item)) for item in self.items)
            self.out.append(Block(BlockKind.LIST, text, page=self.number))
        self.group, self.items, self.kind = [], [], kind


def _wrapped(previous: _Line | None, line: _Line) -> bool:
    """The line continues the previous one's heading: same size, right below it."""
    if previous is None or previous.size != line.size:
        return False
    if previous.y is None or line.y is None:
        return True
    return 0 < previous.y - line.y <= line.size * 1.6


def _merge_across_pages(blocks: list[Block]) -> list[Block]:
    """A paragraph cut by a page break continues on the next page: join the two halves."""
    merged: list[Block] = []
    for block in blocks:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.kind is block.kind is BlockKind.PARAGRAPH
            and last.page != block.page
            and not _SENTENCE_END.search(last.text)
            and block.text[:1].islower()
        ):
            merged[-1] = Block(
                BlockKind.PARAGRAPH, join_wrapped_lines([last.text, block.text]), page=last.page
            )
        else:
            merged.append(block)
    return merged


def _title(reader: PdfReader, blocks: Sequence[Block]) -> str | None:
    try:
        meta_title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:
        meta_title = ""
    if meta_title and not _JUNK_TITLE.search(meta_title):
        return meta_title
    return next((block.text for block in blocks if block.kind is BlockKind.HEADING), None)
