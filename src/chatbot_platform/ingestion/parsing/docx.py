"""DOCX (python-docx): headings from Heading N styles, lists, tables, in document order."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from chatbot_platform.ingestion.parsing.archive import check_container
from chatbot_platform.ingestion.parsing.cleanup import normalize_whitespace
from chatbot_platform.ingestion.parsing.render import list_item_markdown, make_table, table_block
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument, ParseError

# Built-in style names as Word stores them, plus the names localised copies of Word write.
_HEADING_STYLE = re.compile(r"^(?:heading|titolo|titre|título|überschrift|kop)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "titolo", "titre", "título", "titel"})
_BODY_ITEMS = "./w:p | ./w:tbl | ./w:sdt/w:sdtContent/w:p | ./w:sdt/w:sdtContent/w:tbl"
_LIST_STYLE = re.compile(r"^(?:list|elenco)\b.*?(\d)?$", re.IGNORECASE)


class DocxParser:
    """Word `.docx` documents."""

    mime_types: Sequence[str] = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
    extensions: Sequence[str] = (".docx",)

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Headings with levels, paragraphs, lists and tables."""
        check_container(data, "DOCX file")
        document = _open(data)
        blocks = list(_blocks(document))
        title = (document.core_properties.title or "").strip() or next(
            (block.text for block in blocks if block.kind is BlockKind.HEADING), None
        )
        return ParsedDocument(title=title, blocks=blocks, mime_type=self.mime_types[0])


def _open(data: bytes) -> Document:
    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ParseError("The DOCX file is corrupt or not a valid Word document.") from exc


def _blocks(document: Document) -> Iterator[Block]:
    items: list[str] = []
    for element in _body_items(document):
        item = _list_item(element) if isinstance(element, Paragraph) else None
        if item is not None:
            items.append(item)
            continue
        if items:
            yield Block(BlockKind.LIST, "\n".join(items))
            items = []
        block = _paragraph(element) if isinstance(element, Paragraph) else _table(element)
        if block is not None:
            yield block
    if items:
        yield Block(BlockKind.LIST, "\n".join(items))


def _body_items(document: Document) -> Iterator[Paragraph | DocxTable]:
    # python-docx only yields the body's direct children; templates often wrap content in content
    # controls (w:sdt), whose paragraphs and tables would otherwise be lost.
    body = document._body
    for element in document.element.body.xpath(_BODY_ITEMS):
        yield Paragraph(element, body) if element.tag == qn("w:p") else DocxTable(element, body)


def _paragraph(paragraph: Paragraph) -> Block | None:
    text = normalize_whitespace(paragraph.text)
    if not text:
        return None
    level = _heading_level(paragraph)
    if level:
        return Block(BlockKind.HEADING, " ".join(text.split()), level=level)
    return Block(BlockKind.PARAGRAPH, text)


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "").strip() if style is not None else ""


def _heading_level(paragraph: Paragraph) -> int:
    name = _style_name(paragraph)
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    if name.casefold() in _TITLE_STYLES:
        return 1
    outline = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    return int(outline[0]) + 1 if outline and str(outline[0]).isdigit() and int(outline[0]) < 9 else 0


def _list_item(paragraph: Paragraph) -> str | None:
    text = normalize_whitespace(paragraph.text)
    if not text or _heading_level(paragraph):
        return None
    style_match = _LIST_STYLE.match(_style_name(paragraph))
    numbering = paragraph._p.xpath("./w:pPr/w:numPr/w:ilvl/@w:val")
    if style_match is None and not numbering and not paragraph._p.xpath("./w:pPr/w:numPr"):
        return None
    if numbering and str(numbering[0]).isdigit():
        depth = int(numbering[0])
    else:
        depth = int(style_match.group(1)) - 1 if style_match and style_match.group(1) else 0
    return list_item_markdown(text, min(depth, 8))


def _table(table: DocxTable) -> Block | None:
    try:
        rows = [[normalize_whitespace(cell.text) for cell in row.cells] for row in table.rows]
    except (IndexError, ValueError, KeyError):
        return None  # a malformed grid: skip the table rather than the whole document
    parsed = make_table(rows)
    return table_block(parsed) if parsed is not None else None
