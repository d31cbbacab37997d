"""The retrieval steps that ask the model, with scripted answers from the fake OpenAI server."""

from __future__ import annotations

import logging

import pytest

from chatbot_platform.llm import ChatModel
from chatbot_platform.retrieval.llm_steps import (
    HYPOTHETICAL_PASSAGE_PROMPT,
    QUERY_VARIANTS_PROMPT,
    RERANK_PROMPT,
    STANDALONE_PROMPT,
    hypothetical_passage,
    llm_rerank,
    query_variants,
    standalone_question,
)
from tests.fixtures.fake_openai import FakeOpenAI

HISTORY = [
    {"role": "user", "content": "Cosa include il piano Pro?"},
    {"role": "assistant", "content": "Il piano Pro include 10 utenti e il supporto prioritario."},
]
PASSAGES = [
    ("chunk-a1", "Il piano Pro costa 49 euro al mese."),
    ("chunk-b2", "Il supporto risponde entro 24 ore."),
    ("chunk-c3", "La sede è a Milano."),
]


def fail_every_request(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(10, status=500)


def test_every_prompt_asks_for_the_questions_language() -> None:
    for prompt in (STANDALONE_PROMPT, QUERY_VARIANTS_PROMPT, HYPOTHETICAL_PASSAGE_PROMPT):
        assert "same language as" in prompt
        assert "Italian stays Italian" in prompt
    assert "Italian or English" in RERANK_PROMPT


async def test_a_follow_up_becomes_a_standalone_question(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = '"Quanto costa il piano Pro?"'
    assert await standalone_question(chat_model, HISTORY, "e quanto costa?") == "Quanto costa il piano Pro?"
    [request] = fake_openai.requests
    system, user = request.body["messages"]
    assert system == {"role": "system", "content": STANDALONE_PROMPT}
    assert "user: Cosa include il piano Pro?" in user["content"]
    assert "assistant: Il piano Pro include 10 utenti" in user["content"]
    assert user["content"].endswith("Last question: e quanto costa?")
    assert request.body["temperature"] == 0.0


async def test_without_history_the_question_is_kept_and_no_model_is_asked(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    assert await standalone_question(chat_model, [], "And how much is it?") == "And how much is it?"
    assert fake_openai.requests == []


async def test_a_failing_model_keeps_the_question_and_logs_why(
    fake_openai: FakeOpenAI, chat_model: ChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    fail_every_request(fake_openai)
    with caplog.at_level(logging.WARNING, logger="chatbot_platform.retrieval"):
        assert await standalone_question(chat_model, HISTORY, "e quanto costa?") == "e quanto costa?"
    [record] = [r for r in caplog.records if r.name == "chatbot_platform.retrieval"]
    assert record.__dict__["step"] == "standalone_question"
    assert "HTTP 500" in record.__dict__["reason"]


async def test_an_empty_or_rambling_rewrite_keeps_the_question(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = "   "
    assert await standalone_question(chat_model, HISTORY, "e quanto costa?") == "e quanto costa?"
    fake_openai.reply = "Il piano Pro costa 49 euro al mese. " * 20
    assert await standalone_question(chat_model, HISTORY, "e quanto costa?") == "e quanto costa?"


async def test_query_variants_are_parsed_deduplicated_and_capped(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = (
        "```json\n"
        '["Qual è il prezzo del piano Pro?", "quanto costa il piano pro?", "Costo mensile piano Pro", '
        '"costo mensile piano pro", 42, "Tariffa del piano Pro", "Prezzo Pro"]\n'
        "```"
    )
    variants = await query_variants(chat_model, "Quanto costa il piano Pro?", n=3)
    assert variants == ["Qual è il prezzo del piano Pro?", "Costo mensile piano Pro", "Tariffa del piano Pro"]
    [request] = fake_openai.requests
    assert request.body["messages"][0]["content"] == QUERY_VARIANTS_PROMPT.format(n=3)
    assert request.body["messages"][1]["content"] == "Quanto costa il piano Pro?"


async def test_query_variants_are_found_inside_prose_or_an_object(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = 'Here they are: {"questions": ["What does the Pro plan cost?", "Pro plan price"]}'
    assert await query_variants(chat_model, "How much is the Pro plan?", n=2) == [
        "What does the Pro plan cost?",
        "Pro plan price",
    ]


@pytest.mark.parametrize(
    "answer", ["Ecco alcune idee: prezzo, costo.", '["non chiuso", ', '{"a": 1}', "", "[1, 2, 3]"]
)
async def test_garbage_gives_no_query_variants(
    fake_openai: FakeOpenAI, chat_model: ChatModel, answer: str
) -> None:
    fake_openai.reply = answer
    assert await query_variants(chat_model, "Quanto costa?") == []


async def test_a_failing_model_gives_no_query_variants(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fail_every_request(fake_openai)
    assert await query_variants(chat_model, "Quanto costa?") == []


async def test_a_hypothetical_passage_is_the_models_answer(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = "\n Il piano Pro costa 49 euro al mese e include dieci utenti. \n"
    passage = await hypothetical_passage(chat_model, "Quanto costa il piano Pro?")
    assert passage == "Il piano Pro costa 49 euro al mese e include dieci utenti."
    [request] = fake_openai.requests
    assert request.body["messages"][0]["content"] == HYPOTHETICAL_PASSAGE_PROMPT


async def test_a_failing_model_gives_no_hypothetical_passage(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fail_every_request(fake_openai)
    assert await hypothetical_passage(chat_model, "Quanto costa il piano Pro?") == ""


async def test_rerank_scores_passages_by_their_ids(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    # A string score, a number that is no passage, and passage 3 left out.
    fake_openai.reply = '{"1": 90, "2": "15", "7": 50}'
    scores = await llm_rerank(chat_model, "Quanto costa il piano Pro?", PASSAGES)
    assert scores == {"chunk-a1": 0.9, "chunk-b2": 0.15}
    [request] = fake_openai.requests
    system, user = request.body["messages"]
    assert system["content"] == RERANK_PROMPT
    assert user["content"].startswith("Question: Quanto costa il piano Pro?")
    assert "[1]\nIl piano Pro costa 49 euro al mese." in user["content"]
    assert "[3]\nLa sede è a Milano." in user["content"]
    assert "chunk-a1" not in user["content"]


async def test_rerank_scores_are_clamped_and_read_from_prose(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = 'Ecco i punteggi:\n```json\n{"[1]": 250, "2": -5, "3": "40%"}\n```'
    scores = await llm_rerank(chat_model, "Quanto costa?", PASSAGES)
    assert scores == {"chunk-a1": 1.0, "chunk-b2": 0.0, "chunk-c3": 0.4}


@pytest.mark.parametrize("answer", ["Il primo è il migliore.", '{"1": 90', "[90, 10, 0]", '{"1": "alto"}'])
async def test_garbage_gives_no_rerank_scores(
    fake_openai: FakeOpenAI, chat_model: ChatModel, answer: str
) -> None:
    fake_openai.reply = answer
    assert await llm_rerank(chat_model, "Quanto costa?", PASSAGES) == {}


async def test_a_failing_model_gives_no_rerank_scores(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    fail_every_request(fake_openai)
    assert await llm_rerank(chat_model, "Quanto costa?", PASSAGES) == {}


async def test_no_passages_need_no_rerank(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    assert await llm_rerank(chat_model, "Quanto costa?", []) == {}
    assert fake_openai.requests == []
