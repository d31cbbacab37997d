"""DOCX, XLSX and PPTX parsing on files written by python-docx, openpyxl and python-pptx."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docx.oxml import OxmlElement

from chatbot_platform.ingestion.parsing import BlockKind, ParseError, parse
from tests.ingestion.parsing.documents import empty_xlsx, guide_docx, recycling_pptx, tariffs_xlsx


def test_docx_keeps_heading_levels_lists_and_tables_in_order() -> None:
    doc = parse(guide_docx(), "guida.docx")

    assert [(b.kind, b.level) for b in doc.blocks] == [
        (BlockKind.HEADING, 1),
        (BlockKind.PARAGRAPH, 0),
        (BlockKind.HEADING, 2),
        (BlockKind.PARAGRAPH, 0),
        (BlockKind.LIST, 0),
        (BlockKind.HEADING, 3),
        (BlockKind.TABLE, 0),
        (BlockKind.PARAGRAPH, 0),
    ]
    assert doc.title == "Guida ai servizi"
    assert (
        doc.blocks[4].text == "- Carta d'identità elettronica\n- Cambio di residenza\n  - Entro venti giorni"
    )


def test_docx_tables_become_markdown_with_their_first_row_as_header() -> None:
    table = next(b for b in parse(guide_docx(), "guida.docx").blocks if b.kind is BlockKind.TABLE)

    assert table.table is not None
    assert table.table.header == ["Giorno", "Orario"]
    assert table.text == "| Giorno | Orario |\n| --- | --- |\n| Lunedì | 9-12 |\n| Giovedì | 15-17 |"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_docx_is_reported_as_corrupt(cut: float) -> None:
    data = guide_docx()

    with pytest.raises(ParseError) as error:
        parse(data[: int(len(data) * cut)], "rotto.docx")

    assert error.value.reason == "The DOCX file is corrupt or truncated and cannot be opened."


def _with_member(data: bytes, name: str, content: bytes | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
        if content is not None:
            target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("content", [b"<w:document><w:body><w:p>", None])
def test_a_docx_with_a_broken_or_missing_body_is_not_a_word_document(content: bytes | None) -> None:
    with pytest.raises(ParseError) as error:
        parse(_with_member(guide_docx(), "word/document.xml", content), "rotto.docx")

    assert error.value.reason == "The DOCX file is corrupt or not a valid Word document."


def test_xlsx_gives_each_sheet_a_heading_and_a_table_anchored_to_its_name() -> None:
    doc = parse(tariffs_xlsx(), "tariffe.xlsx")

    assert [(b.kind, b.text.split("\n")[0], b.page, b.anchor) for b in doc.blocks] == [
        (BlockKind.HEADING, "Tariffe", 1, "Tariffe"),
        (BlockKind.TABLE, "| Servizio | Costo (€) | Scadenza |", 1, "Tariffe"),
        (BlockKind.HEADING, "Contatti", 2, "Contatti"),
        (BlockKind.TABLE, "| Ufficio | Telefono |", 2, "Contatti"),
    ]
    assert doc.pages == 3


def test_xlsx_cells_read_as_people_read_them() -> None:
    table = parse(tariffs_xlsx(), "tariffe.xlsx").blocks[1].table

    assert table is not None
    assert table.rows == [["Mensa scolastica", "4.5", "2025-09-30"], ["Trasporto", "120", "2025-10-01"]]


def test_an_xlsx_without_data_is_empty() -> None:
    with pytest.raises(ParseError) as error:
        parse(empty_xlsx(), "vuoto.xlsx")

    assert error.value.reason.startswith("The document is empty")


def test_pptx_gives_each_slide_its_title_as_heading_and_its_number_as_page() -> None:
    doc = parse(recycling_pptx(), "raccolta.pptx")

    assert [(b.kind, b.text, b.page) for b in doc.blocks if b.kind is not BlockKind.TABLE] == [
        (BlockKind.HEADING, "Raccolta differenziata", 1),
        (BlockKind.LIST, "- Carta e cartone il lunedì\n- Plastica il mercoledì\n  - Bottiglie e flaconi", 1),
        (BlockKind.PARAGRAPH, "Notes: Ricordare il calendario estivo.", 1),
        (BlockKind.HEADING, "Centri di raccolta", 2),
    ]
    assert doc.pages == 2
    assert doc.title == "Raccolta differenziata"


def test_pptx_tables_are_kept() -> None:
    table = next(b for b in parse(recycling_pptx(), "raccolta.pptx").blocks if b.kind is BlockKind.TABLE)

    assert (table.page, table.anchor) == (2, "slide-2")
    assert table.text == "| Centro | Orario |\n| --- | --- |\n| Via Roma | 8-12 |\n| Zona Nord | 14-18 |"


@pytest.mark.parametrize(
    ("build", "name", "label"), [(tariffs_xlsx, "t.xlsx", "XLSX"), (recycling_pptx, "r.pptx", "PPTX")]
)
def test_truncated_workbooks_and_decks_are_reported_as_corrupt(build, name: str, label: str) -> None:
    data = build()

    with pytest.raises(ParseError) as error:
        parse(data[: len(data) // 2], name)

    assert error.value.reason == f"The {label} file is corrupt or truncated and cannot be opened."


def test_docx_text_inside_content_controls_is_kept() -> None:
    document = docx.Document()
    document.add_heading("Modulo", level=1)
    wrapped = document.add_paragraph("Testo dentro un controllo del contenuto.")
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    wrapped._p.addprevious(sdt)
    sdt.append(content)
    content.append(wrapped._p)
    document.add_paragraph("Testo dopo.")
    out = io.BytesIO()
    document.save(out)

    blocks = parse(out.getvalue(), "modulo.docx").blocks

    assert [b.text for b in blocks] == ["Modulo", "Testo dentro un controllo del contenuto.", "Testo dopo."]
