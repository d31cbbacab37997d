"""The fake OpenAI server other tests rely on speaks the API the way OpenAI does."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fixtures.fake_openai import FakeOpenAI

MESSAGES = [{"role": "system", "content": "Sii breve."}, {"role": "user", "content": "Ciao, come va?"}]


async def test_chat_completion_returns_the_configured_reply_and_usage(fake_openai: FakeOpenAI) -> None:
    seen: list[list[dict[str, Any]]] = []

    def reply(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return "Tutto bene, grazie."

    fake_openai.reply = reply
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as client:
        response = await client.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES})
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Tutto bene, grazie."}
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    assert seen == [MESSAGES]


async def test_streamed_chat_completion_sends_deltas_then_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = "Tutto bene, grazie mille."
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    payload["stream_options"] = {"include_usage": True}
    async with (
        httpx.AsyncClient(base_url=fake_openai.base_url) as client,
        client.stream("POST", "/chat/completions", json=payload) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Tutto bene, grazie mille."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_models_and_injected_failures(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(1, status=429, retry_after=2)
    async with httpx.AsyncClient(base_url=fake_openai.base_url) as client:
        refused = await client.get("/models")
        listed = await client.get("/models")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert "error" in refused.json()
    assert "text-embedding-3-small" in {m["id"] for m in listed.json()["data"]}
    assert [r.path for r in fake_openai.requests] == ["/v1/models", "/v1/models"]
