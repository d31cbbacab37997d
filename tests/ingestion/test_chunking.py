"""Chunking: sections, sizes, word boundaries, overlap and tables."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from chatbot_platform.ingestion.chunking import ChunkDraft, chunk_document
from chatbot_platform.ingestion.parsing import Block, BlockKind, ParsedDocument, Table
from chatbot_platform.ingestion.parsing.render import table_block, table_header_markdown

ITALIAN_WORDS = (
    "il comune rilascia certificati di residenza stato famiglia cittadinanza più città perché così "
    "attività università può già servizi anagrafe tributi ufficio sportello richiesta entro giorni "
    "documento identità carta elettronica appuntamento orari apertura lunedì martedì mercoledì"
).split()
ENGLISH_WORDS = (
    "the council issues residence certificates family status citizenship office desk request within "
    "days document identity card electronic appointment opening hours monday tuesday wednesday"
).split()


def _prose(words: list[str], sentences: int, seed: int) -> str:
    rng = random.Random(seed)  # noqa: S311 - reproducible text, not secrets
    out = []
    for _ in range(sentences):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 30)))
        out.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", "?", "!"]))
    return " ".join(out)


def _doc(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(title="Guida", blocks=list(blocks), mime_type="text/plain")


def _heading(text: str, level: int, page: int | None = None) -> Block:
    return Block(BlockKind.HEADING, text, level=level, page=page)


def _para(text: str, page: int | None = None, anchor: str | None = None) -> Block:
    return Block(BlockKind.PARAGRAPH, text, page=page, anchor=anchor)


def _overlap(previous: str, following: str) -> int:
    for size in range(min(len(previous), len(following)), 0, -1):
        if previous.endswith(following[:size]):
            return size
    return 0


def _at_word_boundaries(chunk: str, source: str) -> bool:
    """The chunk occurs in the source starting and ending at word boundaries."""
    at = source.find(chunk)
    while at != -1:
        end = at + len(chunk)
        if (at == 0 or source[at - 1].isspace()) and (end == len(source) or source[end].isspace()):
            return True
        at = source.find(chunk, at + 1)
    return False


def test_chunks_carry_the_heading_path_of_their_section() -> None:
    doc = _doc(
        _heading("Servizi", 1),
        _para("Il Comune offre molti servizi."),
        _heading("Anagrafe", 2),
        _para("Certificati di residenza."),
        _heading("Orari", 3),
        _para("Lunedì dalle 9 alle 12."),
        _heading("Tributi", 2),
        _para("La tassa sui rifiuti."),
        _heading("Contatti", 1),
    )

    chunks = chunk_document(doc, max_chars=500, overlap_chars=50)

    assert [(c.heading_path, c.text) for c in chunks] == [
        (["Servizi"], "Il Comune offre molti servizi."),
        (["Servizi", "Anagrafe"], "Certificati di residenza."),
        (["Servizi", "Anagrafe", "Orari"], "Lunedì dalle 9 alle 12."),
        (["Servizi", "Tributi"], "La tassa sui rifiuti."),
        (["Contatti"], "Contatti"),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3, 4]


def test_consecutive_blocks_of_a_section_are_packed_together() -> None:
    doc = _doc(_heading("Anagrafe", 1), _para("Primo paragrafo."), _para("Secondo paragrafo."))

    assert [c.text for c in chunk_document(doc, max_chars=500, overlap_chars=50)] == [
        "Primo paragrafo.\n\nSecondo paragrafo."
    ]


@pytest.mark.parametrize("words", [ITALIAN_WORDS, ENGLISH_WORDS], ids=["italian", "english"])
@pytest.mark.parametrize(
    ("max_chars", "overlap"), [(200, 40), (500, 100), (2200, 250), (300, 0), (200, 5000)]
)
def test_long_text_is_split_within_the_limit_at_word_boundaries(
    words: list[str], max_chars: int, overlap: int
) -> None:
    source = _prose(words, 400, seed=max_chars + overlap)

    chunks = chunk_document(_doc(_para(source)), max_chars=max_chars, overlap_chars=overlap)

    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text
        assert len(chunk.text) <= max_chars
        assert chunk.text == chunk.text.strip()
        assert _at_word_boundaries(chunk.text, source), chunk.text


def test_the_next_chunk_starts_with_the_end_of_the_previous_one() -> None:
    source = _prose(ITALIAN_WORDS, 300, seed=7)

    chunks = chunk_document(_doc(_para(source)), max_chars=600, overlap_chars=150)

    for previous, following in itertools.pairwise(chunks):
        shared = _overlap(previous.text, following.text)
        assert 20 <= shared <= 150
        assert _at_word_boundaries(following.text[:shared], source)


def test_overlap_prefers_whole_sentences() -> None:
    sentences = [f"Frase numero {n} sul servizio anagrafe." for n in range(60)]

    chunks = chunk_document(_doc(_para(" ".join(sentences))), max_chars=300, overlap_chars=100)

    for previous, following in itertools.pairwise(chunks):
        shared = following.text[: _overlap(previous.text, following.text)]
        assert shared.startswith("Frase numero ")
        assert shared.endswith(".")


def test_overlap_is_capped_at_half_the_chunk_and_never_crosses_sections() -> None:
    doc = _doc(_heading("A", 1), _para(_prose(ENGLISH_WORDS, 50, seed=1)), _heading("B", 1), _para("Short."))

    chunks = chunk_document(doc, max_chars=300, overlap_chars=1000)

    section_a = [c for c in chunks if c.heading_path == ["A"]]
    for previous, following in itertools.pairwise(section_a):
        assert 0 < _overlap(previous.text, following.text) <= 150
    assert chunks[-1].text == "Short."


def test_lists_and_code_split_at_line_boundaries() -> None:
    items = "\n".join(f"- voce numero {n} dell'elenco dei servizi" for n in range(40))

    chunks = chunk_document(_doc(Block(BlockKind.LIST, items)), max_chars=200, overlap_chars=0)

    assert all(chunk.text.startswith("- voce numero ") for chunk in chunks)
    assert "\n".join(chunk.text for chunk in chunks) == items


def test_a_small_table_stays_whole_in_one_chunk() -> None:
    table = table_block(Table(["Giorno", "Orario"], [["Lunedì", "9-12"], ["Martedì", "15-17"]]))
    doc = _doc(_heading("Orari", 1), _para("Gli orari sono questi."), table)

    chunks = chunk_document(doc, max_chars=len(table.text) + 5, overlap_chars=20)

    assert [c.text for c in chunks] == ["Gli orari sono questi.", table.text]


def test_a_large_table_is_split_by_rows_repeating_the_header() -> None:
    rows = [[f"Servizio {n}", f"{n},50 €", "Ufficio tributi, piano terra"] for n in range(200)]
    table = table_block(Table(["Servizio", "Costo", "Ufficio"], rows))
    header = table_header_markdown(["Servizio", "Costo", "Ufficio"])

    chunks = chunk_document(_doc(table), max_chars=600, overlap_chars=100)

    assert len(chunks) > 10
    body_lines = []
    for chunk in chunks:
        assert len(chunk.text) <= 600
        assert chunk.text.startswith(header + "\n")
        body_lines.extend(chunk.text[len(header) + 1 :].split("\n"))
    assert body_lines == table.text.split("\n")[2:]


def test_a_word_longer_than_the_limit_is_hard_split() -> None:
    long_word = "https://example.org/" + "a" * 90

    chunks = chunk_document(_doc(_para(f"Vedi {long_word} per dettagli.")), max_chars=40, overlap_chars=10)

    assert [chunk.text for chunk in chunks] == [
        "Vedi",
        long_word[:40],
        long_word[40:80],
        long_word[80:],
        "per dettagli.",
    ]


def test_a_chunk_takes_the_page_and_anchor_of_its_first_block() -> None:
    doc = _doc(
        _para("Fine della pagina uno.", page=1, anchor="uno"),
        _para("Inizio della pagina due.", page=2, anchor="due"),
        _para(_prose(ENGLISH_WORDS, 10, seed=3), page=3, anchor="tre"),
    )

    chunks = chunk_document(doc, max_chars=120, overlap_chars=0)

    assert (chunks[0].page, chunks[0].anchor) == (1, "uno")
    assert chunks[0].text.startswith("Fine della pagina uno.\n\nInizio della pagina due.")
    assert (chunks[-1].page, chunks[-1].anchor) == (3, "tre")


def test_chunking_is_deterministic() -> None:
    doc = _doc(_heading("A", 1), _para(_prose(ITALIAN_WORDS, 200, seed=11)), _heading("B", 2), _para("Fine."))

    first = chunk_document(doc, max_chars=500, overlap_chars=80)
    second = chunk_document(doc, max_chars=500, overlap_chars=80)

    assert first == second
    assert all(isinstance(chunk, ChunkDraft) for chunk in first)


def test_ten_megabytes_of_text_chunk_in_about_a_second() -> None:
    paragraphs = [_prose(ITALIAN_WORDS, 12, seed=n) for n in range(200)]
    blocks: list[Block] = []
    while sum(len(block.text) for block in blocks) < 10_000_000:
        blocks.append(_heading(f"Sezione {len(blocks)}", 1 + len(blocks) % 3))
        blocks.extend(_para(paragraph) for paragraph in paragraphs[: 20 + len(blocks) % 30])

    started = time.perf_counter()
    chunks = chunk_document(_doc(*blocks), max_chars=2200, overlap_chars=250)
    elapsed = time.perf_counter() - started

    assert chunks
    assert elapsed < 3.0, f"{elapsed:.2f}s"


@pytest.mark.parametrize(("max_chars", "overlap"), [(0, 0), (100, -1)])
def test_invalid_sizes_are_refused(max_chars: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="must"):
        chunk_document(_doc(_para("x")), max_chars=max_chars, overlap_chars=overlap)
