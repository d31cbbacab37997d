"""Plain text and CSV: paragraphs, tables and text in the encodings people actually have."""

from __future__ import annotations

import codecs

import pytest

from chatbot_platform.ingestion.parsing import BlockKind, ParseError, parse

ITALIAN = "Perché la città è così bella.\n\nCaffè, però!   L'attività più importante dell'anno.\n"


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        (ITALIAN.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ITALIAN.encode("utf-8"), "utf-8 with BOM"),
        (ITALIAN.encode("cp1252"), "cp1252"),
        (ITALIAN.encode("latin-1"), "latin-1"),
        (ITALIAN.encode("utf-16"), "utf-16 with BOM"),
        (codecs.BOM_UTF16_BE + ITALIAN.encode("utf-16-be"), "utf-16-be with BOM"),
    ],
)
def test_text_in_common_encodings_decodes_correctly(encoded: bytes, label: str) -> None:
    doc = parse(encoded, "note.txt")

    assert [b.text for b in doc.blocks] == [
        "Perché la città è così bella.",
        "Caffè, però! L'attività più importante dell'anno.",
    ]


def test_cp1252_punctuation_decodes_correctly() -> None:
    text = "Il costo è di 5 € – “tutto compreso”, così com’è…"  # noqa: RUF001

    assert parse(text.encode("cp1252"), "prezzi.txt").blocks[0].text == text


def test_text_paragraphs_split_on_blank_lines_and_keep_their_lines() -> None:
    doc = parse(b"Primo paragrafo\nsu due righe.\r\n\r\n\r\nSecondo.\n", "a.txt")

    assert [(b.kind, b.text) for b in doc.blocks] == [
        (BlockKind.PARAGRAPH, "Primo paragrafo\nsu due righe."),
        (BlockKind.PARAGRAPH, "Secondo."),
    ]


def test_a_file_without_extension_that_is_text_is_read_as_text() -> None:
    assert parse(b"LEGGIMI\n\nIstruzioni.", "LEGGIMI").blocks[1].text == "Istruzioni."


def test_binary_data_named_txt_is_refused() -> None:
    with pytest.raises(ParseError) as error:
        parse(bytes(range(256)) * 4, "dati.txt")

    assert error.value.reason == "The file does not look like text: it contains binary data."


def test_csv_with_semicolons_in_cp1252_becomes_one_table() -> None:
    data = "Servizio;Costo;Note\nMensa;4,50;entro il 30\nTrasporto;120;città\n".encode("cp1252")

    doc = parse(data, "tariffe.csv")

    assert len(doc.blocks) == 1
    table = doc.blocks[0].table
    assert table is not None
    assert table.header == ["Servizio", "Costo", "Note"]
    assert table.rows == [["Mensa", "4,50", "entro il 30"], ["Trasporto", "120", "città"]]


def test_csv_header_is_the_first_non_empty_row_and_quoted_fields_keep_their_commas() -> None:
    data = b'\n,,\nNome,Indirizzo\n"Rossi, Mario","Via Roma 1"\n'

    table = parse(data, "contatti.csv").blocks[0].table

    assert table is not None
    assert (table.header, table.rows) == (["Nome", "Indirizzo"], [["Rossi, Mario", "Via Roma 1"]])


def test_a_csv_of_only_separators_is_empty() -> None:
    with pytest.raises(ParseError) as error:
        parse(b";;;\n;;;\n", "vuoto.csv")

    assert error.value.reason == "The document is empty: it contains no text."
