"""File-type detection, the parser registry and the refusals every upload path shares."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chatbot_platform.ingestion.parsing import (
    PARSERS,
    Block,
    BlockKind,
    ParsedDocument,
    ParseError,
    detect_type,
    parse,
)
from chatbot_platform.ingestion.parsing.registry import DOCX, PDF, PPTX, XLSX
from tests.ingestion.parsing.documents import guide_docx, guide_pdf, recycling_pptx, tariffs_xlsx


@pytest.mark.parametrize(
    ("build", "expected"),
    [(guide_pdf, PDF), (guide_docx, DOCX), (tariffs_xlsx, XLSX), (recycling_pptx, PPTX)],
)
def test_the_content_decides_the_type_over_a_wrong_name_or_mime(build, expected: str) -> None:
    assert detect_type(build(), "upload.txt", "text/plain") == expected


def test_without_a_signature_the_extension_decides_then_the_mime_type() -> None:
    assert detect_type(b"a;b\n1;2\n", "dati.CSV") == "text/csv"
    assert detect_type(b"# Titolo", "leggimi.md", "text/plain") == "text/markdown"
    assert detect_type(b"a;b\n1;2\n", "dati", "text/csv; charset=utf-8") == "text/csv"
    assert detect_type(b"\x00\x01\x02", "dati.bin", None) == "application/octet-stream"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ParseError) as error:
        parse(b"", "vuoto.pdf")

    assert error.value.reason == "The document is empty (0 bytes)."


def test_a_file_with_only_whitespace_is_empty() -> None:
    with pytest.raises(ParseError) as error:
        parse(b" \n\t\n  ", "vuoto.txt")

    assert error.value.reason == "The document is empty: it contains no text."


def test_an_unknown_binary_file_is_an_unsupported_type() -> None:
    with pytest.raises(ParseError) as error:
        parse(bytes(range(256)) * 8, "programma.exe")

    assert error.value.reason.startswith(
        "Unsupported file type: unrecognised binary data (.exe). Supported: "
    )
    assert ".pdf" in error.value.reason


def test_a_legacy_office_file_is_refused_with_advice() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)

    with pytest.raises(ParseError) as error:
        parse(ole, "vecchio.doc")

    assert error.value.reason.startswith(
        "Unsupported file type: a legacy Microsoft Office file (.doc, .xls, .ppt);"
        " save it as .docx, .xlsx or .pptx."
    )


class CalendarParser:
    """A third-party parser, registered exactly as the built-ins are."""

    mime_types: Sequence[str] = ("text/calendar",)
    extensions: Sequence[str] = (".ics",)

    def parse(self, data: bytes, filename: str) -> ParsedDocument:
        summaries = [line[8:] for line in data.decode().splitlines() if line.startswith("SUMMARY:")]
        blocks = [Block(BlockKind.PARAGRAPH, summary) for summary in summaries]
        return ParsedDocument(title=filename, blocks=blocks, mime_type="text/calendar")


def test_a_third_party_parser_registers_like_the_built_ins() -> None:
    parser = CalendarParser()
    PARSERS.register(parser)
    try:
        doc = parse(b"BEGIN:VEVENT\nSUMMARY:Consiglio comunale\nEND:VEVENT\n", "eventi.ics")
    finally:
        PARSERS.unregister(parser)

    assert [b.text for b in doc.blocks] == ["Consiglio comunale"]
    assert PARSERS.for_extension(".ics") is None


def test_a_parser_cannot_silently_shadow_another() -> None:
    class FakePdf(CalendarParser):
        mime_types: Sequence[str] = ("application/pdf",)
        extensions: Sequence[str] = (".pdf",)

    with pytest.raises(ValueError, match=r"already registered for application/pdf, \.pdf"):
        PARSERS.register(FakePdf())


def test_an_unexpected_parser_failure_becomes_a_parse_error() -> None:
    class Broken(CalendarParser):
        extensions: Sequence[str] = (".broken",)
        mime_types: Sequence[str] = ("application/x-broken",)

        def parse(self, data: bytes, filename: str) -> ParsedDocument:
            raise KeyError("bug")

    parser = Broken()
    PARSERS.register(parser)
    try:
        with pytest.raises(ParseError) as error:
            parse(b"qualcosa", "file.broken")
    finally:
        PARSERS.unregister(parser)

    assert error.value.reason == "The file could not be read (KeyError); it may be corrupt."
