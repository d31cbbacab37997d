"""Chunking: a parsed document to overlapping chunks that follow its headings and paragraphs.

- A chunk never spans two sections; it carries the heading path of its section.
- Consecutive blocks of a section are packed up to `max_chars`, joined by a blank line.
- Long blocks are split at sentence ends and line breaks, then between words, never inside a word.
  The one exception: a single "word" longer than `max_chars` (a URL, a hash) is hard-split.
- The next chunk of a section starts with the last ~`overlap_chars` of the previous one, cut at a
  sentence boundary when whole sentences fit, else at a word boundary. Overlap is capped at half of
  `max_chars` (so every chunk is mostly new text) and is never taken from or into a table.
- Tables whose Markdown fits stay whole; larger ones are split by rows, each piece with the header
  (a row too wide to fit even with the header alone is split like prose).
- Every chunk is non-empty and at most `max_chars` long; its page and anchor are its first block's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from chatbot_platform.ingestion.parsing.render import table_header_markdown, table_row_markdown
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument

# Where a sentence or a line ends: sentence punctuation (with closing quotes) before whitespace, or a
# line break. The first character is a plain class so the scan stays fast on megabytes of text.
_BOUNDARY = re.compile(r"[.!?…\n][.!?…]*[\"'»”’)\]]*(?:(?=\s)|(?<=\n))")  # noqa: RUF001
_WORD = re.compile(r"\S+")
_SPACE = re.compile(r"\s+")
_NON_SPACE = re.compile(r"\S")
_BLOCK_SEPARATOR = "\n\n"

_Piece = tuple[int, int, int]  # (source index, start, end): a span of a source text never cut further


@dataclass(frozen=True)
class ChunkDraft:
    """One chunk before it is stored: its text, where it sits in the document and in which section."""

    ordinal: int
    text: str
    heading_path: list[str]
    page: int | None
    anchor: str | None


@dataclass(frozen=True, slots=True)
class _Source:
    text: str
    page: int | None
    anchor: str | None
    table: bool


def chunk_document(doc: ParsedDocument, *, max_chars: int, overlap_chars: int) -> list[ChunkDraft]:
    """Chunks of the document in reading order, ordinals from 0; see the module docstring for the rules."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if overlap_chars < 0:
        raise ValueError("overlap_chars must not be negative")
    overlap = min(overlap_chars, max_chars // 2)
    drafts: list[ChunkDraft] = []
    for path, blocks in _sections(doc.blocks):
        for text, page, anchor in _SectionPacker(max_chars, overlap).pack(blocks):
            drafts.append(ChunkDraft(len(drafts), text, list(path), page, anchor))
    return drafts


def _sections(blocks: Iterable[Block]) -> Iterator[tuple[tuple[str, ...], list[Block]]]:
    """Content blocks grouped by section; a heading with no content of its own becomes its own text."""
    stack: list[tuple[int, str]] = []
    content: list[Block] = []
    pending: Block | None = None  # the last heading, while nothing has followed it
    for block in blocks:
        if block.kind is not BlockKind.HEADING:
            if block.text.strip():
                content.append(block)
                pending = None
            continue
        level = max(block.level, 1)
        if content:
            yield _path(stack), content
            content = []
        elif pending is not None and level <= max(pending.level, 1):
            yield _path(stack), [_as_paragraph(pending)]
        title = " ".join(block.text.split())
        stack = [entry for entry in stack if entry[0] < level]
        if title:
            stack.append((level, title))
        pending = block if title else None
    if content:
        yield _path(stack), content
    elif pending is not None:
        yield _path(stack), [_as_paragraph(pending)]


def _path(stack: Sequence[tuple[int, str]]) -> tuple[str, ...]:
    return tuple(title for _, title in stack)


def _as_paragraph(heading: Block) -> Block:
    return Block(
        BlockKind.PARAGRAPH, " ".join(heading.text.split()), page=heading.page, anchor=heading.anchor
    )


class _SectionPacker:
    """Packs one section's blocks into chunks."""

    def __init__(self, max_chars: int, overlap: int) -> None:
        self.max_chars = max_chars
        self.overlap = overlap
        # Pieces of an over-long sentence leave room for the overlap that will precede them.
        self.group_limit = max(max_chars - overlap, 1)
        self.sources: list[_Source] = []

    def pack(self, blocks: Sequence[Block]) -> Iterator[tuple[str, int | None, str | None]]:
        current: list[_Piece] = []
        length = 0
        for piece in itertools.chain.from_iterable(self.pieces(block) for block in blocks):
            cost = self.cost(current[-1], piece) if current else piece[2] - piece[1]
            if current and length + cost > self.max_chars:
                yield self.render(current)
                current = self.overlap_tail(current, piece)
                length = self.length(current)
                cost = self.cost(current[-1], piece) if current else piece[2] - piece[1]
            current.append(piece)
            length += cost
        if current:
            yield self.render(current)

    def pieces(self, block: Block) -> Iterable[_Piece]:
        if block.kind is BlockKind.TABLE:
            return self.table_pieces(block)
        return self.text_pieces(block.text, block)

    def add_source(self, text: str, block: Block, *, table: bool) -> int:
        self.sources.append(_Source(text, block.page, block.anchor, table))
        return len(self.sources) - 1

    def text_pieces(self, text: str, block: Block) -> list[_Piece]:
        """A block that fits is one piece (paragraphs stay whole); a longer one is cut into sentences."""
        index = self.add_source(text, block, table=False)
        span = _trim(text, 0, len(text))
        if span is None:
            return []
        if span[1] - span[0] <= self.max_chars:
            return [(index, *span)]
        pieces: list[_Piece] = []
        start = span[0]
        for stop in itertools.chain((match.end() for match in _BOUNDARY.finditer(text, *span)), [span[1]]):
            end = stop
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end - start > self.max_chars:
                pieces.extend(self.word_groups(index, start, end))
            elif end > start:
                pieces.append((index, start, end))
            start = stop
        return pieces

    def word_groups(self, index: int, start: int, end: int) -> Iterator[_Piece]:
        group_start: int | None = None
        group_end = start
        for word in _WORD.finditer(self.sources[index].text, start, end):
            word_start, word_end = word.span()
            if group_start is not None and word_end - group_start > self.group_limit:
                yield (index, group_start, group_end)
                group_start = None
            if word_end - word_start > self.max_chars:  # the documented exception: hard split
                yield from (
                    (index, cut, min(cut + self.max_chars, word_end))
                    for cut in range(word_start, word_end, self.max_chars)
                )
                continue
            group_start = word_start if group_start is None else group_start
            group_end = word_end
        if group_start is not None:
            yield (index, group_start, group_end)

    def table_pieces(self, block: Block) -> Iterator[_Piece]:
        text = block.text.strip()
        if len(text) <= self.max_chars:
            if text:
                yield (self.add_source(text, block, table=True), 0, len(text))
            return
        header, rows = _table_lines(block)
        batch: list[str] = []
        size = len(header)
        for row in rows:
            if batch and size + 1 + len(row) > self.max_chars:
                yield from self.table_batch(header, batch, block)
                batch, size = [], len(header)
            if len(header) + 1 + len(row) > self.max_chars:
                yield from self.text_pieces(row, block)  # too wide even alone with the header
                continue
            batch.append(row)
            size += 1 + len(row)
        yield from self.table_batch(header, batch, block)

    def table_batch(self, header: str, rows: Sequence[str], block: Block) -> Iterator[_Piece]:
        if rows:
            text = "\n".join([header, *rows])
            yield (self.add_source(text, block, table=True), 0, len(text))

    def cost(self, before: _Piece, piece: _Piece) -> int:
        """Characters that appending `piece` after `before` adds to a chunk."""
        if before[0] == piece[0]:
            return piece[2] - before[2]
        return len(_BLOCK_SEPARATOR) + piece[2] - piece[1]

    def length(self, pieces: Sequence[_Piece]) -> int:
        if not pieces:
            return 0
        return pieces[0][2] - pieces[0][1] + sum(self.cost(a, b) for a, b in itertools.pairwise(pieces))

    def overlap_tail(self, previous: Sequence[_Piece], following: _Piece) -> list[_Piece]:
        """The end of the previous chunk that the next one repeats: whole sentences, else whole words."""
        last = previous[-1]
        if not self.overlap or self.sources[last[0]].table or self.sources[following[0]].table:
            return []
        budget = min(self.overlap, self.max_chars - self.cost(last, following))
        tail: list[_Piece] = []  # from the end backwards
        length = 0
        for piece in reversed(previous):
            if self.sources[piece[0]].table or length >= budget:
                break
            added = self.cost_before(piece, tail[-1]) if tail else piece[2] - piece[1]
            if length + added <= budget:
                tail.append(piece)
                length += added
                continue
            gap = added - (piece[2] - piece[1])
            cut = self.sentence_cut(piece, budget - length - gap)
            if cut is None and not tail:
                cut = self.word_cut(piece, budget)
            if cut is not None:
                tail.append(cut)
            break
        return tail[::-1]

    def cost_before(self, piece: _Piece, first: _Piece) -> int:
        """Characters that putting `piece` before `first` adds to a chunk."""
        if piece[0] == first[0]:
            return first[1] - piece[1]
        return piece[2] - piece[1] + len(_BLOCK_SEPARATOR)

    def sentence_cut(self, piece: _Piece, budget: int) -> _Piece | None:
        """The longest end of the piece within the budget that starts a sentence or a line."""
        index, start, end = piece
        if budget <= 0:
            return None
        text = self.sources[index].text
        floor = end - budget
        for match in _BOUNDARY.finditer(text, max(start, floor - 4), end):
            span = _trim(text, match.end(), end)
            if span is not None and span[0] >= floor:
                return (index, span[0], end)
        return None

    def word_cut(self, piece: _Piece, budget: int) -> _Piece | None:
        """The longest end of the piece within the budget that starts at a word."""
        index, start, end = piece
        if budget <= 0:
            return None
        space = _SPACE.search(self.sources[index].text, max(end - budget - 1, start), end)
        if space is None or space.end() >= end:
            return None
        return (index, space.end(), end)

    def render(self, pieces: Sequence[_Piece]) -> tuple[str, int | None, str | None]:
        parts = []
        for index, run in itertools.groupby(pieces, key=lambda piece: piece[0]):
            spans = list(run)
            parts.append(self.sources[index].text[spans[0][1] : spans[-1][2]])
        first = self.sources[pieces[0][0]]
        return _BLOCK_SEPARATOR.join(parts), first.page, first.anchor


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without its leading and trailing whitespace; None when nothing is left."""
    first = _NON_SPACE.search(text, start, end)
    if first is None:
        return None
    return first.start(), first.start() + len(text[first.start() : end].rstrip())


def _table_lines(block: Block) -> tuple[str, list[str]]:
    """A table's header (with its separator row) and its rows, as Markdown lines."""
    if block.table is not None:
        return table_header_markdown(block.table.header), [
            table_row_markdown(row) for row in block.table.rows
        ]
    lines = [line for line in block.text.strip().split("\n") if line.strip()]
    return "\n".join(lines[:2]), lines[2:]
