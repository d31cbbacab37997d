"""Text cleanup rules used by the parsers."""

from __future__ import annotations

import pytest

from chatbot_platform.ingestion.parsing.cleanup import (
    dehyphenate,
    furniture_mask,
    is_page_furniture,
    join_wrapped_lines,
    normalize_whitespace,
)


def test_whitespace_is_normalised() -> None:
    text = "Uno\u00a0 \t due\u200b tre  \r\n\r\n\r\n\r\n  quattro\u00ad cinque  "

    assert normalize_whitespace(text) == "Uno due tre\n\nquattro cinque"


def test_hyphenated_line_breaks_are_joined_only_before_lowercase() -> None:
    assert dehyphenate("infor-\nmazione") == "informazione"
    assert dehyphenate("città-\n  stato") == "cittàstato"
    assert dehyphenate("Emilia-\nRomagna") == "Emilia-\nRomagna"
    assert dehyphenate("anno 2023-\n2024") == "anno 2023-\n2024"


def test_wrapped_lines_are_joined_into_one_paragraph() -> None:
    lines = ["Per ulteriori infor-", "mazioni rivolgersi", "allo sportello."]

    assert join_wrapped_lines(lines) == "Per ulteriori informazioni rivolgersi allo sportello."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Pagina 3 di 12", True),
        ("pag. 3", True),
        ("Page 3 of 12", True),
        ("- 3 -", True),
        ("\u2013 12 \u2013", True),
        ("3", True),
        ("3/12", True),
        ("Articolo 3", False),
        ("3 maggio 2024", False),
        ("Pagina iniziale del sito", False),
    ],
)
def test_page_number_lines_are_page_furniture(line: str, expected: bool) -> None:
    assert is_page_furniture(line) is expected


def test_lines_repeated_at_the_edges_of_most_pages_are_furniture() -> None:
    pages = [
        ["Comune di Castelvecchio", "Anagrafe", "Testo uno.", "Rapporto 2024 - pag. 1"],
        ["Comune di Castelvecchio", "Tributi", "Testo due.", "Rapporto 2024 - pag. 2"],
        ["Comune di Castelvecchio", "Scuola", "Testo tre.", "Rapporto 2024 - pag. 3"],
    ]

    mask = furniture_mask(pages)

    kept = [
        [line for line, drop in zip(page, flags, strict=True) if not drop]
        for page, flags in zip(pages, mask, strict=True)
    ]
    assert kept == [["Anagrafe", "Testo uno."], ["Tributi", "Testo due."], ["Scuola", "Testo tre."]]


def test_repeated_lines_away_from_the_page_edges_are_kept() -> None:
    pages = [[f"riga {page}.{line}" for line in range(8)] for page in range(3)]
    for page in pages:
        page[4] = "Nota importante."

    mask = furniture_mask(pages)

    assert not any(flags[4] for flags in mask)


def test_with_positions_a_repeated_line_must_sit_at_the_same_height() -> None:
    pages = [["Orari", "Testo uno."], ["Orari", "Testo due."]]

    assert furniture_mask(pages, [[700.0, 680.0], [512.0, 500.0]]) == [[False, False], [False, False]]
    assert furniture_mask(pages, [[700.0, 680.0], [700.0, 500.0]]) == [[True, False], [True, False]]
