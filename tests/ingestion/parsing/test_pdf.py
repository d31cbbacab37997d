"""PDF parsing on PDFs written by fpdf2 and encrypted by pypdf."""

from __future__ import annotations

import pytest

from chatbot_platform.ingestion.parsing import BlockKind, ParseError, parse
from tests.ingestion.parsing.documents import HEADER, encrypt_pdf, guide_pdf, scanned_pdf


def test_headings_come_from_font_sizes_with_levels_and_pages() -> None:
    doc = parse(guide_pdf(), "guida.pdf")

    headings = [(b.text, b.level, b.page) for b in doc.blocks if b.kind is BlockKind.HEADING]
    assert headings == [
        ("Servizi demografici", 1, 1),
        ("Anagrafe", 2, 1),
        ("Orari", 3, 1),
        ("Stato civile", 2, 2),
        ("Tributi", 1, 3),
    ]
    assert doc.pages == 3
    assert doc.title == "Servizi demografici"
    assert all(block.page in {1, 2, 3} for block in doc.blocks)


def test_running_header_and_page_footer_are_dropped() -> None:
    text = "\n".join(block.text for block in parse(guide_pdf(), "guida.pdf").blocks)

    assert HEADER not in text
    assert "Pagina" not in text


def test_wrapped_lines_join_into_one_paragraph_and_hyphenated_breaks_are_repaired() -> None:
    paragraphs = [b.text for b in parse(guide_pdf(), "guida.pdf").blocks if b.kind is BlockKind.PARAGRAPH]

    assert any(
        p.startswith("L'ufficio anagrafe rilascia") and p.endswith("in sei giorni.") for p in paragraphs
    )
    assert (
        "Per ulteriori informazioni rivolgersi allo sportello del piano terra, aperto il sabato."
        in paragraphs
    )
    assert all("\n" not in p for p in paragraphs)


def test_a_paragraph_cut_by_a_page_break_is_joined_and_keeps_its_first_page() -> None:
    blocks = parse(guide_pdf(), "guida.pdf").blocks

    joined = next(b for b in blocks if b.text.startswith("La richiesta di cambio di residenza"))
    assert joined.text.endswith(
        "all'ufficio protocollo entro venti giorni dal trasferimento, con un documento d'identità."
    )
    assert joined.page == 1


def test_bullet_lines_become_a_list() -> None:
    lists = [b.text for b in parse(guide_pdf(), "guida.pdf").blocks if b.kind is BlockKind.LIST]

    assert lists == ["- Lunedì: dalle 9 alle 12\n- Mercoledì: dalle 15 alle 17"]


def test_a_password_protected_pdf_is_refused_as_encrypted() -> None:
    with pytest.raises(ParseError) as error:
        parse(encrypt_pdf(guide_pdf(), "segreta", "proprietario"), "protetto.pdf")

    assert error.value.reason.startswith("The PDF is encrypted")


def test_a_pdf_restricted_only_by_an_owner_password_is_read() -> None:
    doc = parse(encrypt_pdf(guide_pdf(), "", "proprietario"), "limitato.pdf")

    assert any(block.text == "Tributi" for block in doc.blocks)


@pytest.mark.parametrize("cut", [300, 0.5, -40])
def test_a_truncated_pdf_is_reported_as_corrupt(cut: float) -> None:
    data = guide_pdf()
    end = int(len(data) * cut) if isinstance(cut, float) else cut

    with pytest.raises(ParseError) as error:
        parse(data[:end], "troncato.pdf")

    assert error.value.reason == "The PDF is corrupt or truncated and cannot be read."


def test_a_file_named_pdf_that_is_not_a_pdf_is_reported_as_corrupt() -> None:
    with pytest.raises(ParseError) as error:
        parse(b"this is not a pdf at all, just words" * 10, "finto.pdf")

    assert "corrupt" in error.value.reason


def test_a_scanned_pdf_without_text_is_refused() -> None:
    with pytest.raises(ParseError) as error:
        parse(scanned_pdf(), "scansione.pdf")

    assert error.value.reason.startswith("No text could be extracted from the PDF")
