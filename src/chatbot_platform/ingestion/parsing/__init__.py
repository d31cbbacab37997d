"""Document parsing: bytes of a supported file to a ParsedDocument of structured blocks.

Built-in parsers register in `PARSERS` exactly as a third-party parser would:
`PARSERS.register(MyParser())`, where `MyParser` follows the `Parser` protocol.
"""

from __future__ import annotations

from chatbot_platform.ingestion.parsing.csv import CsvParser
from chatbot_platform.ingestion.parsing.docx import DocxParser
from chatbot_platform.ingestion.parsing.html import HtmlParser
from chatbot_platform.ingestion.parsing.markdown import MarkdownParser
from chatbot_platform.ingestion.parsing.pdf import PdfParser
from chatbot_platform.ingestion.parsing.pptx import PptxParser
from chatbot_platform.ingestion.parsing.registry import PARSERS, ParserRegistry, detect_type, parse
from chatbot_platform.ingestion.parsing.txt import TextParser
from chatbot_platform.ingestion.parsing.types import (
    Block,
    BlockKind,
    ParsedDocument,
    ParseError,
    Parser,
    Table,
)
from chatbot_platform.ingestion.parsing.xlsx import XlsxParser
from chatbot_platform.ingestion.parsing.zip import ZipParser

__all__ = [
    "PARSERS",
    "Block",
    "BlockKind",
    "ParseError",
    "ParsedDocument",
    "Parser",
    "ParserRegistry",
    "Table",
    "detect_type",
    "parse",
]

for _parser in (
    PdfParser(),
    DocxParser(),
    XlsxParser(),
    PptxParser(),
    HtmlParser(),
    MarkdownParser(),
    TextParser(),
    CsvParser(),
    ZipParser(),
):
    PARSERS.register(_parser)
