"""CSV: one table, the delimiter sniffed, the first non-empty row as header."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from chatbot_platform.ingestion.parsing.render import make_table, table_block
from chatbot_platform.ingestion.parsing.text import decode_text
from chatbot_platform.ingestion.parsing.types import ParsedDocument, ParseError

_DELIMITERS = ",;\t|"
_SNIFF_SAMPLE = 64 * 1024


class CsvParser:
    """Comma, semicolon, tab or pipe separated values in any common encoding."""

    mime_types: Sequence[str] = ("text/csv", "application/csv", "text/tab-separated-values", "text/x-csv")
    extensions: Sequence[str] = (".csv", ".tsv")

    def parse(self, data: bytes, filename: str) -> ParsedDocument:  # noqa: ARG002 - protocol signature
        """One TABLE block."""
        text = decode_text(data)
        table = make_table(_rows(text))
        blocks = [table_block(table)] if table is not None else []
        return ParsedDocument(title=None, blocks=blocks, mime_type=self.mime_types[0])


def _rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text)))
    except csv.Error as exc:
        raise ParseError(f"The CSV file could not be read: {exc}.") from exc


def _dialect(text: str) -> type[csv.Dialect]:
    sample = text[:_SNIFF_SAMPLE]
    if len(text) > _SNIFF_SAMPLE and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut last line would confuse the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        delimiter = max(_DELIMITERS, key=first_line.count)

        class Fallback(csv.excel):
            pass

        Fallback.delimiter = delimiter if first_line.count(delimiter) else ","
        return Fallback
