"""What every parser produces: a title and structured blocks, in reading order."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class BlockKind(enum.StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST = "list"
    TABLE = "table"
    CODE = "code"


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Block:
    """One structural unit. `text` is Markdown (a table block's text is its Markdown rendering)."""

    kind: BlockKind
    text: str
    level: int = 0  # heading level, 1 = top
    page: int | None = None  # 1-based page (PDF) or slide (PPTX) or sheet index (XLSX)
    anchor: str | None = None  # HTML id, sheet name, ... for deep links
    table: Table | None = None


@dataclass
class ParsedDocument:
    title: str | None
    blocks: list[Block]
    mime_type: str
    pages: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class ParseError(Exception):
    """The document cannot be ingested; `reason` is shown to the user as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Parser(Protocol):
    """Turns one file's bytes into a ParsedDocument, or raises ParseError."""

    mime_types: Sequence[str]
    extensions: Sequence[str]

    def parse(self, data: bytes, filename: str) -> ParsedDocument: ...
