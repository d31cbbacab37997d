"""Decoding text files whose encoding is not declared."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from chatbot_platform.ingestion.parsing.types import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Letters and punctuation of Western European text as they appear when cp1252 is read as cp1252.
_WESTERN = frozenset(
    "àèéìíòóùúÀÈÉÌÍÒÓÙÚâêîôûÂÊÎÔÛäëïöüÿÄËÏÖÜçÇñÑßãõÃÕœŒšŠžŽ"
    "€\u201c\u201d\u2018\u2019«»\u2013\u2014…•°ªº§¡¿©®™·\u00d7± \u00a0"
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_SAMPLE = 64 * 1024
_BINARY = "The file does not look like text: it contains binary data."


def decode_text(data: bytes) -> str:
    """Text from bytes: a BOM, else UTF-8, else Western cp1252, else charset-normalizer's guess."""
    text = _decode_by_bom(data)
    if text is None:
        text = _decode_utf8(data)
    if text is None:
        text = _decode_western(data)
    if text is None:
        text = _decode_detected(data)
    if not looks_like_text(text):
        raise ParseError(_BINARY)
    return text


def decode_declared(data: bytes, charset: str | None) -> str:
    """Text decoded with a declared charset when Python knows it, otherwise as `decode_text`."""
    codec = _codec(charset) if charset else None
    if codec is None or any(data.startswith(bom) for bom, _ in _BOMS):
        return decode_text(data)
    return data.decode(codec, errors="replace")


def html_declared_charset(data: bytes) -> str | None:
    """The charset named by a `<meta charset>` or `http-equiv` tag near the top of an HTML page."""
    match = _HTML_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def looks_like_text(text: str) -> bool:
    """False when control characters show the data was binary."""
    sample = text[:_SAMPLE]
    return len(_CONTROL.findall(sample)) <= len(sample) // 100


def _codec(charset: str) -> str | None:
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    # As browsers do (WHATWG encoding standard): pages labelled latin-1 or ASCII are cp1252.
    return "cp1252" if name in {"latin-1", "iso8859-1", "ascii"} else name


def _decode_by_bom(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    f"The text is not valid {encoding.upper()} despite its byte-order mark."
                ) from exc
    return None


def _decode_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_western(data: bytes) -> str | None:
    # charset-normalizer often mistakes short Italian, French or German cp1252/latin-1 text for
    # cp1250 or cp1258; accept cp1252 when every non-ASCII character is a common Western one and
    # they are a minority of the letters (a Cyrillic or Greek code page read as cp1252 fails that).
    if b"\x00" in data[:_SAMPLE]:
        return None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    sample = text[:_SAMPLE]
    foreign = [char for char in sample if ord(char) > 127]
    if not foreign or any(char not in _WESTERN for char in foreign):
        return None
    accented = sum(1 for char in foreign if char.isalpha())
    letters = sum(1 for char in sample if char.isalpha())
    return text if accented * 3 <= letters else None


def _decode_detected(data: bytes) -> str:
    best = from_bytes(data).best()
    if best is None and _CONTROL_BYTES.search(data[:_SAMPLE]):
        raise ParseError(_BINARY)
    if best is None:
        raise ParseError("The text encoding could not be recognised; save the file as UTF-8.")
    return str(best)
