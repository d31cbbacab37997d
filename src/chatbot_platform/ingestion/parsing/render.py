"""Markdown rendering shared by the parsers and the chunker: tables and list items."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from chatbot_platform.ingestion.parsing.types import Block, BlockKind, Table

_CELL_SPACE = re.compile(r"\s+")


def escape_cell(value: str) -> str:
    """One table cell on one line, with pipes escaped."""
    return _CELL_SPACE.sub(" ", value).strip().replace("|", "\\|")


def table_row_markdown(cells: Sequence[str]) -> str:
    """`| a | b |`."""
    return "| " + " | ".join(escape_cell(cell) for cell in cells) + " |"


def table_header_markdown(header: Sequence[str]) -> str:
    """The header row followed by its separator row."""
    return table_row_markdown(header) + "\n|" + " --- |" * max(len(header), 1)


def table_to_markdown(table: Table) -> str:
    """The whole table as a Markdown pipe table."""
    lines = [table_header_markdown(table.header)]
    lines.extend(table_row_markdown(row) for row in table.rows)
    return "\n".join(lines)


def make_table(rows: Iterable[Sequence[str]]) -> Table | None:
    """A table from raw rows: blank rows and empty trailing columns dropped, the first row as header."""
    cleaned = [[escape_cell(cell) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return None
    width = max(_used_width(row) for row in cleaned)
    padded = [(row + [""] * width)[:width] for row in cleaned]
    return Table(header=padded[0], rows=padded[1:])


def table_block(table: Table, *, page: int | None = None, anchor: str | None = None) -> Block:
    """A TABLE block whose text is the table's Markdown rendering."""
    return Block(BlockKind.TABLE, table_to_markdown(table), page=page, anchor=anchor, table=table)


def list_item_markdown(text: str, depth: int = 0, *, ordinal: int | None = None) -> str:
    """One list item line, indented by depth; continuation lines are indented under the marker."""
    marker = f"{ordinal}." if ordinal is not None else "-"
    indent = "  " * depth
    lines = text.strip().split("\n")
    rest = "".join(f"\n{indent}  {line.strip()}" for line in lines[1:] if line.strip())
    return f"{indent}{marker} {lines[0].strip()}{rest}"


def _used_width(row: Sequence[str]) -> int:
    for index in range(len(row), 0, -1):
        if row[index - 1]:
            return index
    return 0
