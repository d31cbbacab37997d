"""The parser registry, file-type detection and the `parse` entry point."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath

from chatbot_platform.ingestion.parsing.archive import open_zip
from chatbot_platform.ingestion.parsing.types import ParsedDocument, ParseError, Parser

logger = logging.getLogger(__name__)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
CSV = "text/csv"
ZIP = "application/zip"
OCTET_STREAM = "application/octet-stream"
LEGACY_OFFICE = "application/x-ole-storage"

_OOXML_PARTS = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX))
_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", LEGACY_OFFICE),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
    (b"Rar!", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"{\\rtf", "application/rtf"),
)
_HINTS = {
    LEGACY_OFFICE: "a legacy Microsoft Office file (.doc, .xls, .ppt); save it as .docx, .xlsx or .pptx",
    OCTET_STREAM: "unrecognised binary data",
}
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)
_HTML_PARTS = re.compile(rb"<(?:head|body)[\s>]", re.IGNORECASE)


class ParserRegistry:
    """Parsers by mime type and extension; built-ins register exactly as a third party would."""

    def __init__(self) -> None:
        self._by_mime: dict[str, Parser] = {}
        self._by_extension: dict[str, Parser] = {}

    def register(self, parser: Parser, *, replace: bool = False) -> None:
        """Add a parser for its mime types and extensions; refuses to shadow another unless `replace`."""
        mimes = [_normalise_mime(mime) for mime in parser.mime_types]
        extensions = [extension.lower() for extension in parser.extensions]
        taken = [key for key in mimes if key in self._by_mime] + [
            key for key in extensions if key in self._by_extension
        ]
        if taken and not replace:
            raise ValueError(f"A parser is already registered for {', '.join(taken)}")
        self._by_mime.update(dict.fromkeys(mimes, parser))
        self._by_extension.update(dict.fromkeys(extensions, parser))

    def unregister(self, parser: Parser) -> None:
        """Remove a parser from every mime type and extension it serves."""
        self._by_mime = {key: value for key, value in self._by_mime.items() if value is not parser}
        self._by_extension = {key: value for key, value in self._by_extension.items() if value is not parser}

    def for_mime(self, mime_type: str) -> Parser | None:
        """The parser for a mime type, if any."""
        return self._by_mime.get(_normalise_mime(mime_type))

    def for_extension(self, extension: str) -> Parser | None:
        """The parser for an extension such as `.pdf`, if any."""
        return self._by_extension.get(extension.lower())

    def extensions(self) -> list[str]:
        """Every registered extension, sorted."""
        return sorted(self._by_extension)

    def __iter__(self) -> Iterator[Parser]:
        seen: list[Parser] = []
        for parser in self._by_mime.values():
            if not any(parser is other for other in seen):
                seen.append(parser)
        return iter(seen)


PARSERS = ParserRegistry()


def detect_type(data: bytes, filename: str, mime_type: str | None = None) -> str:
    """Canonical mime type: sniffed from the bytes, else from the extension, else the given mime type."""
    extension = file_extension(filename)
    sniffed = _sniff(data, extension)
    if sniffed is not None:
        return sniffed
    by_extension = PARSERS.for_extension(extension)
    if by_extension is not None:
        return _canonical(by_extension)
    by_mime = PARSERS.for_mime(mime_type) if mime_type else None
    if by_mime is not None:
        return _canonical(by_mime)
    if not extension and _looks_like_plain_text(data):
        return TEXT
    return OCTET_STREAM


def parse(data: bytes, filename: str, mime_type: str | None = None) -> ParsedDocument:
    """Parse one uploaded file into structured blocks, or raise ParseError with a reason for the user."""
    if not data:
        raise ParseError("The document is empty (0 bytes).")
    detected = detect_type(data, filename, mime_type)
    parser = PARSERS.for_mime(detected)
    if parser is None:
        raise ParseError(f"Unsupported file type: {_describe(detected, filename)}. {_supported()}")
    return parse_with(parser, data, filename, detected)


def parse_with(parser: Parser, data: bytes, filename: str, mime_type: str) -> ParsedDocument:
    """Run one parser, turning any unexpected failure into ParseError and refusing documents without text."""
    try:
        document = parser.parse(data, filename)
    except ParseError:
        raise
    except RecursionError as exc:
        raise ParseError("The document is nested too deeply to be read.") from exc
    except Exception as exc:
        logger.warning("parser failed on %s (%s)", filename, mime_type, exc_info=True)
        raise ParseError(f"The file could not be read ({type(exc).__name__}); it may be corrupt.") from exc
    if not any(block.text.strip() for block in document.blocks):
        raise ParseError("The document is empty: it contains no text.")
    return document


def file_extension(filename: str) -> str:
    """`.pdf` for `Report.PDF`; empty when there is none."""
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower()


def _sniff(data: bytes, extension: str) -> str | None:
    head = data[:2048]
    if b"%PDF-" in data[:1024]:
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data, extension)
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if _HTML_START.match(head.removeprefix(b"\xef\xbb\xbf")) or (
        head.lstrip().startswith(b"<") and _HTML_PARTS.search(head)
    ):
        return HTML
    return None


def _sniff_zip(data: bytes, extension: str) -> str | None:
    try:
        with open_zip(data) as archive:
            names = set(archive.namelist())
            mimetype = _zip_mimetype(archive) if "mimetype" in names else None
    except (ParseError, KeyError, zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return None  # unreadable: let the extension pick the parser, which then reports the damage
    for part, mime in _OOXML_PARTS:
        if part in names:
            return mime
    if mimetype:
        return mimetype  # OpenDocument, EPUB: named so the error can say what it is
    by_extension = PARSERS.for_extension(extension)
    if by_extension is not None and _canonical(by_extension) in {DOCX, XLSX, PPTX}:
        return _canonical(by_extension)  # a broken OOXML file: its own parser explains what is wrong
    return ZIP


def _zip_mimetype(archive: zipfile.ZipFile) -> str | None:
    info = archive.getinfo("mimetype")
    if info.file_size > 100 or info.flag_bits & 0x1:
        return None
    return archive.read(info).decode("ascii", "replace").strip() or None


def _looks_like_plain_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # only a character cut by the sample's end
    return True


def _canonical(parser: Parser) -> str:
    return _normalise_mime(parser.mime_types[0])


def _normalise_mime(mime_type: str) -> str:
    return mime_type.split(";", 1)[0].strip().lower()


def _describe(mime_type: str, filename: str) -> str:
    extension = file_extension(filename)
    hint = _HINTS.get(mime_type, mime_type)
    return f"{hint} ({extension})" if extension and mime_type == OCTET_STREAM else hint


def _supported() -> str:
    return "Supported: " + ", ".join(PARSERS.extensions()) + "."
