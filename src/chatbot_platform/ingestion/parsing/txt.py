"""Plain text: paragraphs separated by blank lines."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot_platform.ingestion.parsing.cleanup import normalize_whitespace
from chatbot_platform.ingestion.parsing.text import decode_text
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class TextParser:
    """`.txt` files in any common encoding."""

    mime_types: Sequence[str] = ("text/plain",)
    extensions: Sequence[str] = (".txt", ".text", ".log")

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Paragraphs split on blank lines, whitespace normalised."""
        text = normalize_whitespace(decode_text(data))
        blocks = [
            Block(BlockKind.PARAGRAPH, paragraph) for paragraph in _PARAGRAPH_BREAK.split(text) if paragraph
        ]
        return ParsedDocument(title=None, blocks=blocks, mime_type=self.mime_types[0])
