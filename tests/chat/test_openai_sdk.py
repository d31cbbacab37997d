"""The official `openai` SDK, unmodified, against the running platform: grounded answers with
citations, streaming, conversation memory, the confidence rules, parameters, upstream failures,
tenant isolation, rate limits, models and embeddings. The upstream model is the fake server."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from chatbot_platform.retrieval import llm_steps
from tests.chat.served import STANDALONE, Platform, Platforms
from tests.factories import TenantWithKey
from tests.retrieval.corpora import ENGLISH, ITALIAN, index_corpus

openai = pytest.importorskip("openai")

QUESTION = "Quanto costa la carta d'identità elettronica?"


def ask(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def extra(model: Any, name: str) -> Any:
    """An extension field (`citations`, `retrieval`) of an SDK object."""
    return (model.model_extra or {}).get(name)


def chat_requests(platform: Platform) -> list[dict[str, Any]]:
    """The answer requests the upstream model received (not the retrieval rewrites)."""
    assert platform.fake is not None
    bodies = [r.body for r in platform.fake.requests_to("/v1/chat/completions")]
    return [b for b in bodies if b["messages"][0]["content"] != llm_steps.STANDALONE_PROMPT]


async def italian_tenant(platform: Platform) -> TenantWithKey:
    tenant = await platform.tenant(default_language="it")
    await index_corpus(platform.http, tenant, ITALIAN)
    return tenant


# -- grounded answers ------------------------------------------------------------------------------


async def test_a_grounded_answer_cites_the_sources_it_was_given(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    raw = platform.openai(tenant).chat.completions.with_raw_response.create(
        model="default", messages=ask(QUESTION)
    )
    completion = raw.parse()

    content = completion.choices[0].message.content
    assert "[1]" in content
    assert "[99]" not in content  # the model cited a source it was never given: dropped
    [citation] = extra(completion, "citations")
    assert citation["id"] == 1
    assert citation["external_id"] == "anagrafe"
    assert citation["title"] == "Carta d'identità elettronica"
    assert "22 euro" in citation["snippet"]
    fields = "id title url document_id external_id chunk_id knowledge_base_id snippet score"
    assert set(citation) == set(fields.split())
    retrieval = extra(completion, "retrieval")
    assert retrieval["outcome"] == "answered"
    assert retrieval["confidence"] > 0
    assert retrieval["knowledge_base_ids"] == [tenant.default_kb_id]
    assert retrieval["trace_id"] == raw.headers["x-request-id"]
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
        > 0
    )

    [sent] = chat_requests(platform)
    system, user = sent["messages"][0]["content"], sent["messages"][-1]["content"]
    assert "Answer in Italian" in system
    assert "[1] Carta d'identità elettronica" in user  # the cited source was in the context
    assert user.endswith(f"Question: {QUESTION}")
    assert sent["model"] == "gpt-4o-mini"


async def test_the_answer_follows_the_language_of_the_question(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    platform.openai(tenant).chat.completions.create(
        model="default", messages=ask("How much does the electronic identity card cost?")
    )
    [sent] = chat_requests(platform)
    assert "Answer in English" in sent["messages"][0]["content"]


async def test_the_tenant_system_prompt_persona_and_caller_instructions_reach_the_model(
    platform: Platform,
) -> None:
    tenant = await italian_tenant(platform)
    profile = {
        "name": "sportello",
        "is_default": True,
        "system_prompt": "Sei lo sportello digitale del Comune di Prova.",
        "persona": "Cordiale e conciso.",
    }
    assert (
        await platform.http.post("/api/v1/assistants", json=profile, headers=tenant.headers)
    ).status_code == 201
    messages = [{"role": "system", "content": "Rispondi in una frase."}, *ask(QUESTION)]
    platform.openai(tenant).chat.completions.create(model="default", messages=messages)
    [sent] = chat_requests(platform)
    system = sent["messages"][0]["content"]
    assert system.startswith("Sei lo sportello digitale del Comune di Prova.")
    assert "Persona: Cordiale e conciso." in system
    assert "Instructions from the application:\nRispondi in una frase." in system
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


async def test_a_long_or_many_part_question_goes_to_the_expensive_model(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    client = platform.openai(tenant)
    client.chat.completions.create(
        model="default", messages=ask("Quanto costa la carta? E dove si richiede?")
    )
    client.chat.completions.create(
        model="default", messages=ask("Quando si paga la TARI " + "e " * 400 + "?")
    )
    assert [r["model"] for r in chat_requests(platform)] == ["gpt-4o", "gpt-4o"]


# -- streaming -------------------------------------------------------------------------------------


async def test_a_streamed_answer_ends_with_its_citations_and_usage(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    client = platform.async_openai(tenant)
    stream = await client.chat.completions.create(
        model="default", messages=ask(QUESTION), stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "[1]" in text
    assert "[99]" not in text
    [finish] = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish.choices[0].finish_reason == "stop"
    assert [c["id"] for c in extra(finish, "citations")] == [1]
    assert extra(finish, "retrieval")["outcome"] == "answered"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert extra(last, "citations") == extra(finish, "citations")
    whole = await client.chat.completions.create(model="default", messages=ask(QUESTION))
    assert whole.choices[0].message.content == text


async def test_a_sync_stream_works_too(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    with platform.openai(tenant).chat.completions.create(
        model="default", messages=ask(QUESTION), stream=True
    ) as stream:
        chunks = list(stream)
    assert "[1]" in "".join(c.choices[0].delta.content or "" for c in chunks)
    assert extra(chunks[-1], "citations")[0]["external_id"] == "anagrafe"


async def test_the_upstream_failing_before_the_first_token_is_an_http_error(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.fail_next(3, status=500, after=1)  # after the query's embedding
    with pytest.raises(openai.InternalServerError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION), stream=True)
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_error"


async def test_the_upstream_breaking_off_mid_stream_ends_the_stream_with_an_error(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.cut_next_stream(after=3)
    stream = platform.openai(tenant).chat.completions.create(
        model="default", messages=ask(QUESTION), stream=True
    )
    received: list[str | None] = []

    def consume() -> None:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError) as raised:
        consume()
    assert received  # the first pieces arrived before the error
    assert "failed to answer" in raised.value.message


async def test_a_client_hanging_up_mid_stream_stops_the_upstream_answer(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.reply = lambda _: " ".join(f"parola{i}" for i in range(300)) + " [1]."
    platform.fake.chunk_delay = 0.02
    client = platform.async_openai(tenant)
    stream = await client.chat.completions.create(
        model="default", messages=ask(QUESTION), stream=True, extra_headers={"X-Conversation-Id": "left"}
    )
    received = 0
    async for _ in stream:
        received += 1
        if received == 5:
            break
    await stream.close()

    for _ in range(200):
        if platform.fake.streams and platform.checked_out_connections() == 0:
            break
        await asyncio.sleep(0.05)
    [upstream] = platform.fake.streams
    assert not upstream.completed
    assert upstream.pieces_sent < 300
    assert platform.checked_out_connections() == 0
    gone = await platform.http.get("/api/v1/conversations/left", headers=tenant.headers)
    assert gone.status_code == 404  # an answer nobody received is not stored


# -- conversation memory ---------------------------------------------------------------------------


async def test_a_follow_up_is_rewritten_from_the_messages_history(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    messages = [
        {"role": "user", "content": "Come si richiede la carta d'identità?"},
        {"role": "assistant", "content": "All'ufficio anagrafe, su appuntamento [1]."},
        {"role": "user", "content": "e quanto costa?"},
    ]
    completion = platform.openai(tenant).chat.completions.create(model="default", messages=messages)
    assert extra(completion, "retrieval")["query"] == STANDALONE
    assert extra(completion, "citations")[0]["external_id"] == "anagrafe"
    [sent] = chat_requests(platform)
    assert sent["messages"][1:3] == [
        {"role": "user", "content": "Come si richiede la carta d'identità?"},
        {"role": "assistant", "content": "All'ufficio anagrafe, su appuntamento."},  # old markers dropped
    ]


async def test_a_conversation_id_stores_the_exchange_and_remembers_it(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    client = platform.openai(tenant)
    first = client.chat.completions.create(
        model="default",
        messages=ask("Come si richiede la carta d'identità?"),
        extra_headers={"X-Conversation-Id": "conv-42"},
        user="visitor-7",
    )
    stream = client.chat.completions.create(
        model="default",
        messages=ask("e quanto costa?"),
        stream=True,
        extra_body={"conversation_id": "conv-42"},
    )
    chunks = list(stream)
    assert extra(chunks[-1], "retrieval")["query"] == STANDALONE  # rewritten from the stored history

    stored = await platform.http.get("/api/v1/conversations/conv-42", headers=tenant.headers)
    assert stored.status_code == 200, stored.text
    body = stored.json()
    assert body["end_user"] == "visitor-7"
    assert body["message_count"] == 4
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    answer = body["messages"][1]
    assert answer["content"] == first.choices[0].message.content
    assert answer["citations"] == extra(first, "citations")
    assert answer["outcome"] == "answered"
    assert answer["latency_ms"] >= 0
    assert answer["prompt_tokens"] == first.usage.prompt_tokens
    assert answer["completion_tokens"] == first.usage.completion_tokens
    assert body["messages"][3]["first_token_ms"] is not None
    assert body["messages"][3]["retrieval"]["query"] == STANDALONE


# -- confidence rules ------------------------------------------------------------------------------


async def test_below_the_confidence_threshold_the_answer_is_the_tenant_i_dont_know(
    platform: Platform,
) -> None:
    tenant = await italian_tenant(platform)
    strict = {
        "name": "strict",
        "min_confidence": 0.99,
        "force_if_has_citations": False,
        "dont_know_messages": {"it": "Non ne ho idea, chiedi in Comune."},
    }
    forced = {**strict, "name": "forced", "force_if_has_citations": True}
    for profile in (strict, forced):
        created = await platform.http.post("/api/v1/assistants", json=profile, headers=tenant.headers)
        assert created.status_code == 201, created.text
    client = platform.openai(tenant)

    refused = client.chat.completions.create(model="strict", messages=ask(QUESTION))
    assert refused.choices[0].message.content == "Non ne ho idea, chiedi in Comune."
    assert extra(refused, "citations") == []
    assert extra(refused, "retrieval")["outcome"] == "dont_know"
    assert extra(refused, "retrieval")["confidence"] < 0.99
    assert chat_requests(platform) == []  # no model was asked

    answered = client.chat.completions.create(model="forced", messages=ask(QUESTION))
    assert extra(answered, "retrieval")["outcome"] == "answered"  # RAG_FORCE_IF_HAS_CITATIONS
    assert extra(answered, "citations")


async def test_nothing_found_is_i_dont_know_in_the_language_of_the_question(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    # Full-text only, so that an unrelated question finds nothing at all.
    settings = {"settings": {"vector_weight": 0}}
    await platform.http.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}", json=settings, headers=tenant.headers
    )
    client = platform.openai(tenant)
    italian = client.chat.completions.create(
        model="default", messages=ask("Dove nuotano i pinguini imperatori?")
    )
    english = client.chat.completions.create(model="default", messages=ask("Where do emperor penguins swim?"))
    assert italian.choices[0].message.content.startswith("Non lo so con certezza")
    assert english.choices[0].message.content.startswith("I don't know for sure")
    assert extra(english, "citations") == []


# -- parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"seed": 7}, "seed"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
            "response_format",
        ),
    ],
)
async def test_unsupported_parameters_get_a_400_naming_them(
    platform: Platform, options: dict[str, Any], param: str
) -> None:
    tenant = await platform.tenant()
    with pytest.raises(openai.BadRequestError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask("ciao"), **options)
    assert raised.value.param == param
    assert param in raised.value.message


async def test_parameters_at_their_neutral_values_are_accepted(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    completion = platform.openai(tenant).chat.completions.create(
        model="default",
        messages=ask(QUESTION),
        n=1,
        top_p=1,
        frequency_penalty=0,
        presence_penalty=0.0,
        logprobs=False,
        response_format={"type": "text"},
    )
    assert completion.choices[0].message.content


async def test_max_tokens_temperature_stop_and_json_are_honoured(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    client = platform.openai(tenant)
    stopped = client.chat.completions.create(
        model="default", messages=ask(QUESTION), max_tokens=50, temperature=0.2, stop=["la risposta"]
    )
    sent = chat_requests(platform)[-1]
    assert (sent["max_tokens"], sent["temperature"]) == (50, 0.2)
    assert stopped.choices[0].message.content == "Secondo la fonte «Carta d'identità elettronica» "
    assert stopped.choices[0].finish_reason == "stop"

    platform.fake.reply = lambda _: '{"risposta": "22 euro [1]", "fonti": [1, 7]}'
    as_json = client.chat.completions.create(
        model="default",
        messages=ask(QUESTION + " Rispondi in JSON."),
        response_format={"type": "json_object"},
    )
    sent = chat_requests(platform)[-1]
    assert sent["response_format"] == {"type": "json_object"}
    assert "JSON object" in sent["messages"][0]["content"]
    assert json.loads(as_json.choices[0].message.content) == {"risposta": "22 euro [1]", "fonti": [1, 7]}
    assert [c["id"] for c in extra(as_json, "citations")] == [1]  # source 7 was never given

    platform.fake.finish_reason = "length"
    cut = client.chat.completions.create(model="default", messages=ask(QUESTION), max_completion_tokens=5)
    assert cut.choices[0].finish_reason == "length"


# -- upstream failures -----------------------------------------------------------------------------


async def test_upstream_429s_are_retried(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.fail_next(2, status=429, retry_after=0, after=1)
    completion = platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
    assert "[1]" in completion.choices[0].message.content
    assert len(platform.fake.requests_to("/v1/chat/completions")) == 3


async def test_upstream_429s_that_do_not_stop_answer_503_with_retry_after(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.fail_next(3, status=429, retry_after=0, after=1)
    with pytest.raises(openai.InternalServerError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
    assert raised.value.status_code == 503
    assert raised.value.code == "upstream_rate_limited"
    assert raised.value.response.headers["retry-after"] == "10"


async def test_upstream_500s_answer_502_without_the_upstream_text(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.fail_next(3, status=500, after=1)
    with pytest.raises(openai.InternalServerError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
    assert raised.value.status_code == 502
    assert raised.value.body["type"] == "server_error"
    assert "Injected" not in raised.value.message


async def test_an_upstream_that_does_not_answer_in_time_is_a_504(platforms: Platforms) -> None:
    platform = await platforms.start(OPENAI_TIMEOUT="0.3")
    tenant = await italian_tenant(platform)
    assert platform.fake is not None
    platform.fake.chat_delay = 1.0
    with pytest.raises(openai.InternalServerError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
    assert raised.value.status_code == 504
    assert raised.value.code == "upstream_timeout"


# -- tenants, limits, errors -----------------------------------------------------------------------


async def test_tenants_never_see_each_others_assistants_knowledge_or_conversations(
    platform: Platform,
) -> None:
    alpha = await italian_tenant(platform)
    beta = await platform.tenant(default_language="en")
    await index_corpus(platform.http, beta, ENGLISH)
    await platform.http.post("/api/v1/assistants", json={"name": "alpha-bot"}, headers=alpha.headers)
    alpha_client, beta_client = platform.openai(alpha), platform.openai(beta)
    alpha_client.chat.completions.create(
        model="alpha-bot", messages=ask(QUESTION), extra_headers={"X-Conversation-Id": "same-id"}
    )

    for model in ("alpha-bot", f"kb:{alpha.default_kb_id}", alpha.default_kb_id):
        with pytest.raises(openai.NotFoundError) as raised:
            beta_client.chat.completions.create(model=model, messages=ask(QUESTION))
        assert raised.value.code == "model_not_found"
    beta_ids = {m.id for m in beta_client.models.list()}
    assert "alpha-bot" not in beta_ids
    answer = beta_client.chat.completions.create(
        model="default",
        messages=ask("When is the library open?"),
        extra_headers={"X-Conversation-Id": "same-id"},
    )
    assert {c["external_id"] for c in extra(answer, "citations")} <= set(ENGLISH)
    assert extra(answer, "retrieval")["query"] == "When is the library open?"  # not alpha's history
    beta_conversation = (
        await platform.http.get("/api/v1/conversations/same-id", headers=beta.headers)
    ).json()
    assert beta_conversation["message_count"] == 2


async def test_chat_requests_are_throttled_per_key_and_per_end_user(platforms: Platforms) -> None:
    platform = await platforms.start(THROTTLE_CHAT_REQUESTS="2")
    tenant = await italian_tenant(platform)
    client = platform.openai(tenant).chat.completions

    first = client.with_raw_response.create(model="default", messages=ask(QUESTION))
    second = client.with_raw_response.create(model="default", messages=ask(QUESTION))
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert [
        first.headers["x-ratelimit-remaining-requests"],
        second.headers["x-ratelimit-remaining-requests"],
    ] == [
        "1",
        "0",
    ]
    with pytest.raises(openai.RateLimitError) as raised:
        client.create(model="default", messages=ask(QUESTION))
    error = raised.value
    assert error.code == "rate_limit_exceeded"
    assert int(error.response.headers["retry-after"]) >= 1
    assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.body["type"] == "requests"

    client.create(model="default", messages=ask(QUESTION), user="alice")  # alice has a window of her own
    client.create(model="default", messages=ask(QUESTION), user="alice")
    with pytest.raises(openai.RateLimitError):
        client.create(model="default", messages=ask(QUESTION), user="alice")
    client.create(model="default", messages=ask(QUESTION), user="bob")


async def test_with_redis_the_throttle_and_the_openai_budget_are_shared_by_processes(
    platforms: Platforms,
) -> None:
    prefix = f"test-chat-{uuid.uuid4().hex[:8]}"
    shared = {"THROTTLE_CHAT_REQUESTS": "2", "REDIS_HOST": "127.0.0.1", "CACHE_PREFIX": prefix}
    one = await platforms.start(storage="shared", **shared)
    assert one.fake is not None
    two = await platforms.start(storage="shared", fake=one.fake, **shared)
    tenant = await italian_tenant(one)
    redis = Redis(host="127.0.0.1", port=6379, db=1)  # REDIS_CACHE_DATABASE's default
    try:
        one.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
        two.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION + " Davvero?"))
        with pytest.raises(openai.RateLimitError):
            one.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
        # Both processes' model calls (query embeddings and answers) spent from one budget in Redis.
        chat_calls = len(chat_requests(one))
        assert chat_calls == 2
        assert await redis.zcard(f"{prefix}:ratelimit:openai:grants") >= chat_calls + 2
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_a_wrong_key_gets_openais_error_envelope(platform: Platform) -> None:
    tenant = await platform.tenant()
    tenant.key = tenant.key[:-4] + "xxxx"
    with pytest.raises(openai.AuthenticationError) as raised:
        platform.openai(tenant).chat.completions.create(model="default", messages=ask("ciao"))
    assert raised.value.body["type"] == "authentication_error"
    assert set(raised.value.body) == {"message", "type", "param", "code"}


async def test_usage_and_cost_are_recorded_per_tenant(platform: Platform) -> None:
    tenant = await italian_tenant(platform)
    other = await platform.tenant()
    completion = platform.openai(tenant).chat.completions.create(model="default", messages=ask(QUESTION))
    report = (await platform.http.get("/api/v1/analytics/usage", headers=tenant.headers)).json()
    [chat] = [line for line in report["items"] if line["kind"] == "chat"]
    assert chat["model"] == "gpt-4o-mini"
    assert chat["requests"] == 1
    assert chat["prompt_tokens"] == completion.usage.prompt_tokens
    assert chat["completion_tokens"] == completion.usage.completion_tokens
    assert float(chat["cost_usd"]) > 0
    assert (await platform.http.get("/api/v1/analytics/usage", headers=other.headers)).json()["items"] == []


# -- models and embeddings -------------------------------------------------------------------------


async def test_models_list_the_default_profiles_knowledge_bases_and_embedding_model(
    platform: Platform,
) -> None:
    tenant = await platform.tenant()
    await platform.http.post("/api/v1/assistants", json={"name": "helpdesk"}, headers=tenant.headers)
    client = platform.openai(tenant)
    ids = [m.id for m in client.models.list()]
    assert ids == ["default", "helpdesk", "kb:Default", "text-embedding-3-small"]
    assert client.models.retrieve("kb:Default").model_extra["kind"] == "knowledge_base"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


async def test_embeddings_come_from_the_tenants_model(platform: Platform) -> None:
    tenant = await platform.tenant()
    client = platform.openai(tenant)
    result = client.embeddings.create(model="text-embedding-3-small", input=["primo testo", "secondo"])
    assert [len(d.embedding) for d in result.data] == [1536, 1536]
    assert result.usage.prompt_tokens > 0
    as_floats = client.embeddings.create(model="default", input="primo testo", encoding_format="float")
    assert as_floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-6)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-large", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="default", input="x", dimensions=256)


async def test_an_offline_platform_answers_extractively_with_citations(platforms: Platforms) -> None:
    platform = await platforms.start(llm=False)
    tenant = await italian_tenant(platform)
    client = platform.openai(tenant)
    completion = client.chat.completions.create(model="default", messages=ask(QUESTION))
    content = completion.choices[0].message.content
    assert content.startswith("Risposta estrattiva (nessun modello linguistico è configurato)")
    assert "22 euro" in content
    assert "[1]" in content
    assert extra(completion, "retrieval")["outcome"] == "extractive"
    assert extra(completion, "citations")[0]["external_id"] == "anagrafe"
    assert completion.usage.total_tokens == 0

    stream = client.chat.completions.create(
        model="default", messages=ask("How much does the identity card cost?"), stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Extractive answer (no language model is configured)")
    assert extra(chunks[-1], "citations")


async def test_langchain_chat_openai_gets_grounded_streamed_answers(platform: Platform) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    tenant = await italian_tenant(platform)
    llm = langchain_openai.ChatOpenAI(
        model="default", base_url=f"{platform.url}/v1", api_key=tenant.key, max_retries=0
    )
    answer = await llm.ainvoke(QUESTION)
    assert "[1]" in answer.content
    pieces = [chunk.content async for chunk in llm.astream(QUESTION)]
    assert len(pieces) > 3
    assert "".join(str(p) for p in pieces) == answer.content
