"""ZIP archives: members parsed under their path; unsafe, encrypted and explosive archives refused."""

from __future__ import annotations

import os

import pytest

from chatbot_platform.ingestion.parsing import BlockKind, ParseError, parse
from chatbot_platform.ingestion.parsing.archive import MIB, ZipLimits
from chatbot_platform.ingestion.parsing.zip import ZipParser
from tests.ingestion.parsing.documents import guide_docx, tariffs_xlsx, with_encrypted_flag, zip_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _reason(data: bytes, filename: str = "archivio.zip") -> str:
    with pytest.raises(ParseError) as error:
        parse(data, filename)
    return error.value.reason


def test_each_member_is_parsed_under_a_heading_with_its_path() -> None:
    archive = zip_of(
        {
            "servizi/guida.docx": guide_docx(),
            "servizi/orari.txt": "Aperto dal lunedì al venerdì.".encode(),
            "tariffe.xlsx": tariffs_xlsx(),
            "logo.png": PNG,
            "__MACOSX/servizi/._guida.docx": b"junk",
        }
    )

    doc = parse(archive, "archivio.zip")

    top = [b.text for b in doc.blocks if b.kind is BlockKind.HEADING and b.level == 1]
    assert top == ["servizi/guida.docx", "servizi/orari.txt", "tariffe.xlsx"]
    assert [m["path"] for m in doc.metadata["members"]] == top
    assert doc.metadata["skipped"] == [{"path": "logo.png", "reason": "unsupported file type (image/png)"}]
    assert doc.mime_type == "application/zip"


def test_member_headings_shift_below_the_member_heading() -> None:
    doc = parse(zip_of({"guida.docx": guide_docx()}), "archivio.zip")

    headings = [(b.text, b.level) for b in doc.blocks if b.kind is BlockKind.HEADING]
    assert headings == [("guida.docx", 1), ("Servizi", 2), ("Anagrafe", 3), ("Orari", 4)]


def test_a_zip_bomb_member_is_refused_before_it_is_expanded() -> None:
    bomb = zip_of({"leggimi.txt": b"ok", "bomba.txt": b"\x00" * (20 * MIB)})

    assert "zip bomb" in _reason(bomb)


def test_an_archive_expanding_past_the_total_limit_is_refused() -> None:
    members = {f"parte{i}.txt": os.urandom(300 * 1024).hex().encode() for i in range(3)}
    parser = ZipParser(ZipLimits(max_total_bytes=1 * MIB))

    with pytest.raises(ParseError) as error:
        parser.parse(zip_of(members), "grande.zip")

    assert error.value.reason == "The ZIP archive expands to more than 1 MB; it may be a zip bomb."


def test_an_archive_with_too_many_members_is_refused() -> None:
    members = {f"f{i}.txt": b"x" for i in range(1001)}

    assert _reason(zip_of(members)) == "The ZIP archive has too many files (more than 1000)."


@pytest.mark.parametrize("name", ["../evil.txt", "docs/../../evil.txt", "/etc/passwd", "C:/Windows/evil.txt"])
def test_a_member_path_escaping_the_archive_is_refused(name: str) -> None:
    reason = _reason(zip_of({"ok.txt": b"ok", name: b"evil"}))

    assert reason == f"The ZIP archive contains an unsafe path ({name}); it was refused."


def test_an_encrypted_member_is_refused() -> None:
    reason = _reason(with_encrypted_flag(zip_of({"segreto.txt": b"password"})))

    assert reason == "The archive contains an encrypted file (segreto.txt); remove the password."


def test_one_level_of_nested_archives_is_read() -> None:
    inner = zip_of({"orari.txt": b"Aperto il sabato."})

    doc = parse(zip_of({"interno.zip": inner}), "esterno.zip")

    assert [b.text for b in doc.blocks] == ["interno.zip/orari.txt", "Aperto il sabato."]


def test_archives_nested_two_levels_deep_are_refused() -> None:
    deepest = zip_of({"orari.txt": b"Aperto il sabato."})
    nested = zip_of({"livello2.zip": zip_of({"livello3.zip": deepest})})

    assert _reason(nested) == (
        "The ZIP archive nests archives too deeply (livello2.zip/livello3.zip); at most one level is allowed."
    )


def test_an_archive_without_supported_documents_says_what_it_skipped() -> None:
    assert _reason(zip_of({"logo.png": PNG, "vuoto.txt": b""})) == (
        "The ZIP archive contains no supported document with text "
        "(logo.png: unsupported file type (image/png); vuoto.txt: empty file)."
    )


def test_a_truncated_archive_is_reported_as_corrupt() -> None:
    data = zip_of({"a.txt": b"testo " * 1000, "b.txt": b"altro " * 1000})

    assert _reason(data[: len(data) // 2]) == "The ZIP archive is corrupt or truncated and cannot be opened."
