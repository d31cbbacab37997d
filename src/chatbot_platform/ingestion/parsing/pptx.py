"""PPTX (python-pptx): per slide its title as heading, then text frames and tables in reading order."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from pptx import Presentation
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.presentation import Presentation as PresentationObject
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape
from pptx.slide import Slide

from chatbot_platform.ingestion.parsing.archive import check_container
from chatbot_platform.ingestion.parsing.cleanup import normalize_whitespace
from chatbot_platform.ingestion.parsing.render import list_item_markdown, make_table, table_block
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument, ParseError

_BULLETED = frozenset({PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT})


class PptxParser:
    """PowerPoint `.pptx` decks, speaker notes included."""

    mime_types: Sequence[str] = ("application/vnd.openxmlformats-officedocument.presentationml.presentation",)
    extensions: Sequence[str] = (".pptx",)

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Blocks per slide; page = slide number, anchor = `slide-N`."""
        check_container(data, "PPTX file")
        deck = _open(data)
        try:
            slides = list(deck.slides)
            blocks = [
                block for number, slide in enumerate(slides, 1) for block in _slide_blocks(slide, number)
            ]
        except Exception as exc:
            raise ParseError("The PPTX file is corrupt: a slide could not be read.") from exc
        title = (deck.core_properties.title or "").strip() or next(
            (block.text for block in blocks if block.kind is BlockKind.HEADING), None
        )
        return ParsedDocument(title=title, blocks=blocks, mime_type=self.mime_types[0], pages=len(slides))


def _open(data: bytes) -> PresentationObject:
    try:
        return Presentation(io.BytesIO(data))
    except Exception as exc:
        raise ParseError("The PPTX file is corrupt or not a valid PowerPoint presentation.") from exc


def _slide_blocks(slide: Slide, number: int) -> Iterator[Block]:
    anchor = f"slide-{number}"
    title_shape = slide.shapes.title
    title = normalize_whitespace(title_shape.text_frame.text) if title_shape is not None else ""
    heading = " ".join(title.split()) or f"Slide {number}"
    yield Block(BlockKind.HEADING, heading, level=1, page=number, anchor=anchor)
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        for block in _shape_blocks(shape):
            yield replace(block, page=number, anchor=anchor)
    notes = _notes(slide)
    if notes:
        yield Block(BlockKind.PARAGRAPH, f"Notes: {notes}", page=number, anchor=anchor)


def _reading_order(shapes: Iterable[BaseShape]) -> list[BaseShape]:
    flat: list[BaseShape] = []
    for shape in shapes:
        if isinstance(shape, GroupShape):
            flat.extend(_reading_order(shape.shapes))
        else:
            flat.append(shape)
    return sorted(flat, key=lambda shape: (shape.top or 0, shape.left or 0))


def _shape_blocks(shape: BaseShape) -> Iterator[Block]:
    if getattr(shape, "has_table", False):
        rows = [[normalize_whitespace(cell.text) for cell in row.cells] for row in shape.table.rows]  # type: ignore[attr-defined]
        table = make_table(rows)
        if table is not None:
            yield table_block(table)
    elif shape.has_text_frame:
        yield from _text_frame_blocks(shape)


def _text_frame_blocks(shape: BaseShape) -> Iterator[Block]:
    paragraphs = [
        (paragraph.level, normalize_whitespace(paragraph.text))
        for paragraph in shape.text_frame.paragraphs  # type: ignore[attr-defined]
    ]
    paragraphs = [(level, text) for level, text in paragraphs if text]
    if not paragraphs:
        return
    bulleted = shape.is_placeholder and shape.placeholder_format.type in _BULLETED
    if len(paragraphs) > 1 and (bulleted or any(level for level, _ in paragraphs)):
        yield Block(BlockKind.LIST, "\n".join(list_item_markdown(text, level) for level, text in paragraphs))
    else:
        yield Block(BlockKind.PARAGRAPH, "\n".join(text for _, text in paragraphs))


def _notes(slide: Slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return normalize_whitespace(frame.text) if frame is not None else ""
