"""XLSX (openpyxl, read-only, cached values): one heading and one table per sheet."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import openpyxl  # type: ignore[import-untyped]

from chatbot_platform.ingestion.parsing.archive import check_container
from chatbot_platform.ingestion.parsing.render import make_table, table_block
from chatbot_platform.ingestion.parsing.types import Block, BlockKind, ParsedDocument, ParseError


class XlsxParser:
    """Excel `.xlsx`/`.xlsm` workbooks; formulas give their last computed value."""

    mime_types: Sequence[str] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel.sheet.macroenabled.12",
    )
    extensions: Sequence[str] = (".xlsx", ".xlsm")

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """Per sheet: a level-1 heading (the sheet name) and a table; page = sheet index, anchor = name."""
        check_container(data, "XLSX file")
        workbook = _open(data)
        try:
            sheets = list(workbook.worksheets)
            blocks = [block for index, sheet in enumerate(sheets, 1) for block in _sheet_blocks(sheet, index)]
            title = (workbook.properties.title or "").strip() or None
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError("The XLSX file is corrupt: a sheet could not be read.") from exc
        finally:
            workbook.close()
        return ParsedDocument(title=title, blocks=blocks, mime_type=self.mime_types[0], pages=len(sheets))


def _open(data: bytes) -> Any:
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ParseError("The XLSX file is corrupt or not a valid Excel workbook.") from exc


def _sheet_blocks(sheet: Any, index: int) -> Iterator[Block]:
    table = make_table(_rows(sheet.iter_rows(values_only=True)))
    if table is None:
        return
    name = str(sheet.title)
    yield Block(BlockKind.HEADING, name, level=1, page=index, anchor=name)
    yield table_block(table, page=index, anchor=name)


def _rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[str]]:
    for row in rows:
        cells = [cell_text(value) for value in row]
        if any(cells):
            yield cells


def cell_text(value: Any) -> str:
    """A cell value as people read it: 3 not 3.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
