"""The OpenAI-compatible chat client, over real HTTP against the fake OpenAI server."""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import aclosing

import pytest

from chatbot_platform.chat.errors import upstream_error
from chatbot_platform.embeddings.openai import openai_budget
from chatbot_platform.kit.ratelimit import Limits, LocalRateBudget
from chatbot_platform.llm import ChatModel, Completion, Delta, LLMError, Usage, build_chat_model
from chatbot_platform.settings import load_settings
from tests.fixtures.fake_openai import FakeOpenAI, StreamRecord
from tests.llm.conftest import API_KEY, MakeChatModel

QUESTION = [{"role": "system", "content": "Rispondi in breve."}, {"role": "user", "content": "Ciao?"}]
LONG_REPLY = " ".join(f"parola{i}" for i in range(50))


async def wait_for_stream_end(fake_openai: FakeOpenAI) -> StreamRecord:
    """The record of the one stream the server served, once the server has finished with it."""
    for _ in range(500):  # polled: the server runs in its own thread and event loop
        if fake_openai.streams:
            break
        await asyncio.sleep(0.01)
    [record] = fake_openai.streams
    return record


async def test_a_completion_carries_text_model_finish_reason_and_usage(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = "Ciao! Come posso aiutarti?"
    completion = await chat_model.complete(QUESTION)
    assert completion == Completion(
        text="Ciao! Come posso aiutarti?",
        model="gpt-4o-mini",
        finish_reason="stop",
        usage=Usage(prompt_tokens=7, completion_tokens=7),
    )
    [request] = fake_openai.requests_to("/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body == {"model": "gpt-4o-mini", "messages": QUESTION}


async def test_options_are_sent_only_when_given(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    fake_openai.finish_reason = "length"
    completion = await chat_model.complete(
        QUESTION,
        model=chat_model.expensive_model,
        max_tokens=50,
        temperature=0.2,
        response_format={"type": "json_object"},
    )
    assert (completion.model, completion.finish_reason) == ("gpt-4o", "length")
    [request] = fake_openai.requests
    assert request.body == {
        "model": "gpt-4o",
        "messages": QUESTION,
        # A compatible server gets the classic name; only api.openai.com gets max_completion_tokens.
        "max_tokens": 50,
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
    }


async def test_streaming_yields_the_text_in_pieces_then_the_finish_reason_and_usage(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = "Tutto bene, grazie mille."
    deltas = [delta async for delta in chat_model.stream(QUESTION, max_tokens=20)]
    assert "".join(d.text for d in deltas) == "Tutto bene, grazie mille."
    assert len([d for d in deltas if d.text]) == 4
    assert deltas[-2] == Delta(finish_reason="stop")
    assert deltas[-1] == Delta(usage=Usage(prompt_tokens=7, completion_tokens=7))
    [request] = fake_openai.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert await wait_for_stream_end(fake_openai) == StreamRecord(pieces_sent=4, completed=True)


async def test_a_429_is_retried_after_the_servers_retry_after(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.fail_next(1, status=429, retry_after=0.3)
    started = time.monotonic()
    completion = await chat_model.complete(QUESTION)
    assert time.monotonic() - started >= 0.3
    assert completion.text == fake_openai.reply
    assert len(fake_openai.requests) == 2


async def test_server_errors_are_retried_with_backoff(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    fake_openai.fail_next(2, status=500)
    completion = await chat_model.complete(QUESTION)
    assert completion.text == fake_openai.reply
    assert len(fake_openai.requests) == 3


async def test_a_timeout_is_retried(fake_openai: FakeOpenAI, make_chat_model: MakeChatModel) -> None:
    fake_openai.delay_next(1.0)
    completion = await make_chat_model(timeout=0.3).complete(QUESTION)
    assert completion.text == fake_openai.reply
    assert len(fake_openai.requests) == 2


async def test_it_gives_up_with_an_llm_error_naming_status_and_upstream_message(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.fail_next(3, status=503)
    with pytest.raises(LLMError) as caught:
        await chat_model.complete(QUESTION)
    assert caught.value.upstream_status == 503
    assert "failed after 3 attempts" in caught.value.message
    assert "HTTP 503: Injected failure (503)." in caught.value.message
    assert len(fake_openai.requests) == 3


async def test_a_refusal_is_not_retried_and_the_key_is_redacted(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.api_key = "sk-the-right-key"  # the server echoes the wrong key it got
    with pytest.raises(LLMError) as caught:
        await chat_model.complete(QUESTION)
    assert caught.value.upstream_status == 401
    assert "refused: HTTP 401: Incorrect API key provided" in caught.value.message
    assert API_KEY not in caught.value.message
    assert len(fake_openai.requests) == 1


async def test_a_stream_is_retried_until_it_starts(fake_openai: FakeOpenAI, chat_model: ChatModel) -> None:
    fake_openai.reply = "Eccomi."
    fake_openai.fail_next(1, status=502)
    text = "".join([d.text async for d in chat_model.stream(QUESTION)])
    assert text == "Eccomi."
    assert len(fake_openai.requests) == 2


async def test_a_stream_cut_after_it_started_raises_and_is_not_retried(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = LONG_REPLY
    fake_openai.cut_next_stream(after=3)
    received: list[str] = []

    async def read_all() -> None:
        async for delta in chat_model.stream(QUESTION):
            received.append(delta.text)

    with pytest.raises(LLMError, match="broke off the stream"):
        await read_all()
    assert "".join(received) == "parola0 parola1 parola2 "
    assert len(fake_openai.requests) == 1


async def test_closing_a_stream_early_cancels_the_upstream_answer(
    fake_openai: FakeOpenAI, chat_model: ChatModel
) -> None:
    fake_openai.reply = LONG_REPLY
    fake_openai.chunk_delay = 0.05
    async with aclosing(chat_model.stream(QUESTION)) as deltas:
        async for delta in deltas:
            if delta.text:
                break
    record = await wait_for_stream_end(fake_openai)
    assert not record.completed
    assert record.pieces_sent < 10


async def test_every_try_spends_from_the_budget(
    fake_openai: FakeOpenAI, make_chat_model: MakeChatModel
) -> None:
    now = [0.0]
    budget = LocalRateBudget(Limits(max_requests=3, max_tokens=300), clock=lambda: now[0])
    fake_openai.fail_next(1, status=500)
    # 40 characters budget as 10 prompt tokens, plus the 100 the answer may use: 110 a try.
    await make_chat_model(budget=budget).complete([{"role": "user", "content": "a" * 40}], max_tokens=100)
    assert len(fake_openai.requests) == 2
    assert await budget.reserve(requests=1, tokens=80) == 0.0  # 220 of 300 tokens, 2 of 3 requests
    assert await budget.reserve(requests=0, tokens=1) > 0
    assert await budget.reserve(requests=1, tokens=0) > 0


async def test_a_spent_budget_makes_the_next_request_wait(
    fake_openai: FakeOpenAI, make_chat_model: MakeChatModel
) -> None:
    budget = LocalRateBudget(Limits(max_requests=1, max_tokens=10_000, window=0.4))
    chat_model = make_chat_model(budget=budget)
    await chat_model.complete(QUESTION)
    started = time.monotonic()
    await chat_model.complete(QUESTION)
    assert time.monotonic() - started >= 0.3
    assert len(fake_openai.requests) == 2


async def test_no_chat_model_without_a_key_or_a_compatible_server() -> None:
    assert build_chat_model(load_settings(env_file=None)) is None


async def test_the_factory_uses_the_settings_and_the_shared_openai_budget(fake_openai: FakeOpenAI) -> None:
    settings = load_settings(
        env_file=None,
        overrides={
            "OPENAI_API_BASE_URL": fake_openai.base_url,  # a compatible server needs no key
            "OPENAI_CHAT_MODEL": "gpt-4o",
            "OPENAI_EXPENSIVE_MODEL": "gpt-4o-large",
            "OPENAI_ORGANIZATION": "org-test",
            # Limits no other test uses, so this test has the process's budget of that shape to itself.
            "OPENAI_MAX_REQUESTS_PER_MINUTE": "7",
            "OPENAI_MAX_TOKENS_PER_MINUTE": "987654",
        },
    )
    chat_model = build_chat_model(settings)
    assert chat_model is not None
    try:
        assert (chat_model.model, chat_model.expensive_model) == ("gpt-4o", "gpt-4o-large")
        assert (await chat_model.complete(QUESTION)).model == "gpt-4o"
    finally:
        await chat_model.aclose()
    [request] = fake_openai.requests
    assert "authorization" not in request.headers
    assert request.headers["openai-organization"] == "org-test"
    budget = openai_budget(settings)
    assert await budget.reserve(requests=6) == 0.0
    assert await budget.reserve(requests=1) > 0


async def test_a_budget_spent_for_longer_than_the_patience_fails_at_once_saying_when_to_retry(
    fake_openai: FakeOpenAI, make_chat_model: MakeChatModel
) -> None:
    budget = LocalRateBudget(Limits(max_requests=1, max_tokens=10_000, window=60))
    chat_model = make_chat_model(budget=budget, budget_patience=0.5)
    await chat_model.complete(QUESTION)
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        await chat_model.complete(QUESTION)
    assert time.monotonic() - started < 0.5
    retry_after = caught.value.budget_retry_after
    assert retry_after is not None
    assert retry_after > 50
    refusal = upstream_error(caught.value)
    assert (refusal.status_code, refusal.headers["Retry-After"]) == (429, str(math.ceil(retry_after)))
    assert len(fake_openai.requests) == 1
