"""Markdown: headings, paragraphs, lists, tables and code fences (CommonMark plus GFM tables)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from chatbot_platform.ingestion.parsing.cleanup import normalize_code, normalize_whitespace
from chatbot_platform.ingestion.parsing.html import html_fragment_blocks
from chatbot_platform.ingestion.parsing.render import make_table, table_block
from chatbot_platform.ingestion.parsing.text import decode_text
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)
_RAW_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SOURCE_KINDS = {
    "paragraph_open": BlockKind.PARAGRAPH,
    "blockquote_open": BlockKind.PARAGRAPH,
    "bullet_list_open": BlockKind.LIST,
    "ordered_list_open": BlockKind.LIST,
}


class MarkdownParser:
    """`.md` files; block text is the original Markdown source of each block."""

    mime_types: Sequence[str] = ("text/markdown", "text/x-markdown")
    extensions: Sequence[str] = (".md", ".markdown", ".mdown", ".mkd")

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Blocks from the top-level Markdown tokens."""
        text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
        front_title, text = _split_front_matter(text)
        lines = text.split("\n")
        tokens = MarkdownIt("commonmark").enable("table").parse(text)
        blocks = list(_blocks(tokens, lines))
        title = front_title or next(
            (block.text for block in blocks if block.kind is BlockKind.HEADING and block.level == 1), None
        )
        return ParsedDocument(title=title, blocks=blocks, mime_type=self.mime_types[0])


def _split_front_matter(text: str) -> tuple[str | None, str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None, text
    title = _FRONT_TITLE.search(match.group(0))
    return (title.group(1) if title else None), text[match.end() :]


def _blocks(tokens: Sequence[Token], lines: Sequence[str]) -> Iterator[Block]:
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1:
            continue
        if token.type == "heading_open":
            text = normalize_whitespace(tokens[index + 1].content)
            if text:
                yield Block(BlockKind.HEADING, text, level=int(token.tag[1]))
        elif token.type in _SOURCE_KINDS and token.map:
            yield _source_block(_SOURCE_KINDS[token.type], lines, token.map)
        elif token.type in {"fence", "code_block"} and token.map:
            yield Block(BlockKind.CODE, normalize_code("\n".join(lines[token.map[0] : token.map[1]])))
        elif token.type == "table_open":
            yield from _table(tokens, index)
        elif token.type == "html_block":
            yield from html_fragment_blocks(token.content)


def _source_block(kind: BlockKind, lines: Sequence[str], span: Sequence[int]) -> Block:
    source = "\n".join(line.rstrip() for line in lines[span[0] : span[1]])
    return Block(kind, _RAW_SCRIPT.sub("", source).strip("\n"))


def _table(tokens: Sequence[Token], start: int) -> Iterator[Block]:
    rows: list[list[str]] = []
    for token in tokens[start + 1 :]:
        if token.type == "table_close":
            break
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token.content)
    table = make_table(rows)
    if table is not None:
        yield table_block(table)
