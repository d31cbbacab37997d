"""The chat API over plain HTTP (what any client, or an SDK, sees on the wire): SSE framing, OpenAI's
error envelope, the original product's path, a client hanging up, rate-limit headers, and the
assistant-profile and conversation endpoints. Runs without the `openai` package."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.chat.served import Platform, Platforms
from tests.factories import TenantWithKey
from tests.retrieval.corpora import ITALIAN, index_corpus

QUESTION = "Quanto costa la carta d'identità elettronica?"


def ask(question: str, **fields: Any) -> dict[str, Any]:
    return {"model": "default", "messages": [{"role": "user", "content": question}], **fields}


async def italian_tenant(platform: Platform) -> TenantWithKey:
    tenant = await platform.tenant(default_language="it")
    await index_corpus(platform.http, tenant, ITALIAN)
    return tenant


async def test_a_grounded_answer_over_plain_http(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    response = await platform.http.post("/v1/chat/completions", json=ask(QUESTION), headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "default"
    assert "[1]" in body["choices"][0]["message"]["content"]
    assert body["citations"][0]["external_id"] == "anagrafe"
    assert body["retrieval"]["outcome"] == "answered"


async def test_the_original_products_path_answers_the_same(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    response = await platform.http.post(
        "/api/v1/chat/completions", json=ask(QUESTION), headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["citations"][0]["external_id"] == "anagrafe"
    missing = await platform.http.post(
        "/api/v1/chat/completions", json={"model": "default"}, headers=tenant.headers
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "messages"


async def test_sse_chunks_end_with_citations_then_done(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    body = ask(QUESTION, stream=True)
    async with platform.http.stream(
        "POST", "/v1/chat/completions", json=body, headers=tenant.headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = [line async for line in response.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["citations"][0]["external_id"] == "anagrafe"
    assert final["retrieval"]["outcome"] == "answered"


async def test_errors_under_v1_use_openais_envelope(platform: Platform) -> None:
    tenant = await platform.tenant()
    response = await platform.http.post(
        "/v1/chat/completions", json={"model": "default", "messages": []}, headers=tenant.headers
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    unsupported = await platform.http.post(
        "/v1/chat/completions", json=ask("ciao", logprobs=True, top_logprobs=3), headers=tenant.headers
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["message"].startswith(
        "Unsupported parameters: 'logprobs', 'top_logprobs'"
    )
    unknown_model = await platform.http.post(
        "/v1/chat/completions", json={**ask("ciao"), "model": "gpt-4o"}, headers=tenant.headers
    )
    assert unknown_model.status_code == 404
    assert unknown_model.json()["error"]["code"] == "model_not_found"
    unknown_path = await platform.http.get("/v1/nothing-here", headers=tenant.headers)
    assert unknown_path.status_code == 404
    assert set(unknown_path.json()["error"]) == {"message", "type", "param", "code"}
    no_key = await platform.http.get("/v1/models")
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    platform_api = await platform.http.get("/api/v1/nothing-here")
    assert "request_id" in platform_api.json()["error"]  # the platform's own envelope elsewhere


async def test_a_key_without_the_chat_scope_is_refused(platform: Platform) -> None:
    tenant = await platform.tenant(scopes=["retrieval:search"])
    response = await platform.http.post("/v1/chat/completions", json=ask("ciao"), headers=tenant.headers)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


async def test_hanging_up_mid_stream_closes_the_upstream_stream_and_frees_everything(
    platform: Platform,
) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.reply = lambda _: " ".join(f"word{i}" for i in range(400))
    platform.fake.chunk_delay = 0.02
    async with platform.http.stream(
        "POST", "/v1/chat/completions", json=ask(QUESTION, stream=True), headers=tenant.headers
    ) as response:
        received = 0
        async for line in response.aiter_lines():
            received += bool(line)
            if received == 3:
                break
    for _ in range(200):
        if platform.fake.streams and platform.checked_out_connections() == 0:
            break
        await asyncio.sleep(0.05)
    [upstream] = platform.fake.streams
    assert not upstream.completed
    assert upstream.pieces_sent < 400
    assert platform.checked_out_connections() == 0


async def test_rate_limit_headers_and_429(platforms: Platforms) -> None:
    platform = await platforms.start(THROTTLE_CHAT_REQUESTS="1", THROTTLE_CHAT_DECAY_MINUTES="2")
    tenant = await italian_tenant(platform)
    ok = await platform.http.post("/v1/chat/completions", json=ask(QUESTION), headers=tenant.headers)
    assert ok.headers["x-ratelimit-limit-requests"] == "1"
    assert ok.headers["x-ratelimit-remaining-requests"] == "0"
    refused = await platform.http.post("/v1/chat/completions", json=ask(QUESTION), headers=tenant.headers)
    assert refused.status_code == 429
    assert 60 < int(refused.headers["retry-after"]) <= 120
    assert float(refused.headers["x-ratelimit-reset-requests"].removesuffix("s")) > 60
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    streamed = await platform.http.post(
        "/v1/chat/completions", json=ask(QUESTION, stream=True), headers=tenant.headers
    )
    assert streamed.status_code == 429


async def test_assistant_profiles_are_managed_per_tenant(platform: Platform) -> None:
    tenant = await platform.tenant()
    other = await platform.tenant()
    created = await platform.http.post(
        "/api/v1/assistants",
        json={"name": "helpdesk", "is_default": True, "dont_know_messages": {"en": "Ask the front desk."}},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    profile = created.json()
    assert profile["is_default"] is True
    second = await platform.http.post(
        "/api/v1/assistants", json={"name": "sales", "is_default": True}, headers=tenant.headers
    )
    assert second.status_code == 201
    listed = (await platform.http.get("/api/v1/assistants", headers=tenant.headers)).json()
    assert [(p["name"], p["is_default"]) for p in listed["items"]] == [("helpdesk", False), ("sales", True)]

    duplicate = await platform.http.post("/api/v1/assistants", json={"name": "sales"}, headers=tenant.headers)
    assert duplicate.status_code == 409
    reserved = await platform.http.post(
        "/api/v1/assistants", json={"name": "default"}, headers=tenant.headers
    )
    assert reserved.status_code == 422
    foreign_kb = await platform.http.post(
        "/api/v1/assistants",
        json={"name": "x", "knowledge_base_ids": [other.default_kb_id]},
        headers=tenant.headers,
    )
    assert foreign_kb.status_code == 404
    hidden = await platform.http.get(f"/api/v1/assistants/{profile['id']}", headers=other.headers)
    assert hidden.status_code == 404

    updated = await platform.http.patch(
        f"/api/v1/assistants/{profile['id']}",
        json={"persona": "Friendly.", "temperature": 0.1, "dont_know_messages": None},
        headers=tenant.headers,
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["persona"], updated.json()["temperature"]) == ("Friendly.", 0.1)
    assert updated.json()["dont_know_messages"] == {}
    deleted = await platform.http.delete(f"/api/v1/assistants/{profile['id']}", headers=tenant.headers)
    assert deleted.status_code == 204


async def test_conversations_are_listed_most_recent_first(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    for conversation in ("first", "second"):
        response = await platform.http.post(
            "/v1/chat/completions",
            json=ask(QUESTION, conversation_id=conversation),
            headers=tenant.headers,
        )
        assert response.json()["conversation_id"] == conversation
        assert response.headers["x-conversation-id"] == conversation
    listed = (await platform.http.get("/api/v1/conversations", headers=tenant.headers)).json()
    assert [c["conversation_id"] for c in listed["items"]] == ["second", "first"]
    assert listed["items"][0]["message_count"] == 2
    clash = await platform.http.post(
        "/v1/chat/completions",
        json=ask(QUESTION, conversation_id="a"),
        headers={**tenant.headers, "X-Conversation-Id": "b"},
    )
    assert clash.status_code == 400


async def test_a_model_that_finds_no_answer_in_the_sources_says_so_without_citations(
    platform: Platform,
) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.reply = lambda _: (
        "Non lo so con certezza: non trovo riferimenti sufficienti nella base di conoscenza."
    )
    response = await platform.http.post(
        "/v1/chat/completions", json=ask("Chi ha vinto il Giro d'Italia?"), headers=tenant.headers
    )
    body = response.json()
    assert body["choices"][0]["message"]["content"].startswith("Non lo so con certezza")
    assert body["citations"] == []
    assert body["retrieval"]["outcome"] == "dont_know"
