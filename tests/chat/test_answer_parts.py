"""The pieces an answer is made of: citation markers (whole and streamed), stop sequences, the
context within its budget, compression, the question's language, and which parameters are neutral."""

from __future__ import annotations

import random
import uuid

import pytest

from chatbot_platform.chat.citations import MarkerFilter, StopFilter, apply_stop, check_markers, cited_numbers
from chatbot_platform.chat.context import build_sources, compress, passage
from chatbot_platform.chat.extractive import pieces
from chatbot_platform.chat.language import detect
from chatbot_platform.openai_compat.params import unsupported
from chatbot_platform.openai_compat.schemas import ChatCompletionRequest
from chatbot_platform.retrieval.schemas import Neighbor, SearchResult
from chatbot_platform.settings.sections import RagSettings


def result(text: str, *, title: str = "Doc", neighbors: list[tuple[int, str]] = ()) -> SearchResult:  # type: ignore[assignment]
    return SearchResult(
        chunk_id=uuid.uuid4(),
        document_id=uuid.uuid4(),
        external_id=None,
        knowledge_base_id=uuid.uuid4(),
        title=title,
        url=None,
        heading_path=[],
        page=None,
        text=text,
        score=0.5,
        neighbors=[Neighbor(chunk_id=uuid.uuid4(), ordinal=o, text=t) for o, t in neighbors],
    )


@pytest.mark.parametrize(
    ("text", "expected", "cited"),
    [
        ("Costa 22 euro [1].", "Costa 22 euro [1].", [1]),
        ("Costa 22 euro [7].", "Costa 22 euro.", []),
        ("Vedi [2, 7] e [1][2].", "Vedi [2] e [1][2].", [2, 1]),
        ("Un elenco [a] e [ 3 ].", "Un elenco [a] e [3].", [3]),
    ],
)
def test_markers_naming_no_source_of_the_context_are_removed(
    text: str, expected: str, cited: list[int]
) -> None:
    assert check_markers(text, {1, 2, 3}) == (expected, cited)


def test_streamed_markers_come_out_as_the_whole_text_would() -> None:
    text = "La TARI si paga a maggio [1] e novembre [9]. Riduzioni [2, 8] per ISEE basso [3][4]. Fine [1"
    expected, _ = check_markers(text, {1, 2, 3})
    rng = random.Random(7)  # noqa: S311 - reproducible cuts, not security
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), 12))
        parts = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        markers = MarkerFilter({1, 2, 3})
        out = "".join(markers.feed(p) for p in parts) + markers.flush()
        assert out == expected
        assert markers.cited == [1, 2, 3]


def test_a_stop_sequence_ends_the_answer_even_across_pieces() -> None:
    stop = StopFilter(["FINE", "###"])
    out = "".join(stop.feed(p) for p in ["Prima parte F", "IN", "E seconda"]) + stop.flush()
    assert out == "Prima parte "
    assert stop.stopped
    assert apply_stop("niente da fermare", ["###"]) == ("niente da fermare", False)


def test_the_hit_sits_among_its_neighbours_in_document_order() -> None:
    middle = result("HIT", neighbors=[(4, "a"), (5, "b"), (7, "c")])
    first = result("HIT", neighbors=[(1, "a"), (2, "b")])
    last = result("HIT", neighbors=[(7, "a"), (8, "b")])
    assert passage(middle).split("\n") == ["a", "b", "HIT", "c"]
    assert passage(first).split("\n") == ["HIT", "a", "b"]
    assert passage(last).split("\n") == ["a", "b", "HIT"]


def test_compression_keeps_the_sentences_about_the_question() -> None:
    text = (
        "Il Comune ha sede in piazza Roma. La biblioteca apre alle nove. "
        "La carta d'identità elettronica costa 22 euro. Il mercato è il giovedì. "
        "Per la carta d'identità serve una fotografia."
    )
    short = compress(text, "Quanto costa la carta d'identità?", 120)
    assert "costa 22 euro" in short
    assert "mercato" not in short
    assert len(short) <= 150


def test_sources_fit_the_context_budget() -> None:
    rag = RagSettings(RAG_CTX_MAX_CHARS=1000, RAG_CTX_COMPRESS_IF_OVER=5000)
    results = [result("parola " * 80, title=f"Doc {i}") for i in range(5)]
    sources = build_sources(results, "parola", rag, max_sources=5)
    assert [s.number for s in sources] == [1, 2]
    assert sum(len(s.block()) + 2 for s in sources) <= 1000
    assert sources[1].text.endswith("…")


def test_without_ctx_enabled_a_source_is_its_chunk_alone() -> None:
    rag = RagSettings(RAG_CTX_ENABLED=False)
    [source] = build_sources([result("HIT", neighbors=[(1, "next")])], "q", rag, max_sources=3)
    assert source.text == "HIT"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Quanto costa la carta d'identità?", "it"),
        ("How much does the identity card cost?", "en"),
        ("Orari della biblioteca", "it"),
        ("TARI", "en"),  # says nothing: the tenant's language
    ],
)
def test_the_language_of_a_question(question: str, language: str) -> None:
    assert detect(question, "en") == language


def test_pieces_join_back_into_the_text() -> None:
    text = "Una risposta estrattiva piuttosto lunga, fatta di parole e punteggiatura. " * 5
    assert "".join(pieces(text)) == text


def test_only_parameters_that_change_the_answer_are_unsupported() -> None:
    body = ChatCompletionRequest.model_validate(
        {
            "model": "default",
            "messages": [{"role": "user", "content": "ciao"}],
            "frequency_penalty": 0.0,
            "logprobs": False,
            "tool_choice": "auto",
            "metadata": {},
            "seed": 3,
            "presence_penalty": 0.5,
            "brand_new_option": "x",
        }
    )
    assert unsupported(body) == ["brand_new_option", "presence_penalty", "seed"]
    assert cited_numbers("[2] e [1, 2]") == [2, 1]
