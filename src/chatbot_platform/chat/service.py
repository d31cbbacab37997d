"""Answering a question: `plan` (the database's part, in the request's transaction), `prepare`
(what to answer from and how), then `complete` or `stream`, then `record` (conversation and usage).

`prepare` searches (the retrieval pipeline rewrites a follow-up into a standalone question from the
history), builds the numbered sources within RAG_CTX_*, and applies the confidence rules
(RAG_MIN_CITATIONS, RAG_MIN_CONFIDENCE, RAG_FORCE_IF_HAS_CITATIONS, or the profile's) to choose the
outcome: the chat model answers, or the best passages are quoted when there is no chat model, or
the tenant's "I don't know" message is the answer (without asking any model).

After `plan`, like the retrieval pipeline, these functions take the process's services and open
their own short transactions: a request holds no database connection while a model answers.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatbot_platform.analytics import service as analytics
from chatbot_platform.chat import prompts, targets
from chatbot_platform.chat.citations import (
    MarkerFilter,
    StopFilter,
    apply_stop,
    check_markers,
    citations_for,
    cited_numbers,
)
from chatbot_platform.chat.context import Source, build_sources, cut
from chatbot_platform.chat.errors import InvalidQuestion, upstream_error
from chatbot_platform.chat.extractive import extractive_answer, pieces
from chatbot_platform.chat.language import detect
from chatbot_platform.chat.schemas import (
    Answer,
    AnswerEvent,
    Citation,
    Finished,
    Options,
    Outcome,
    Question,
    Retrieval,
    TextDelta,
    TokenUsage,
    Turn,
)
from chatbot_platform.chat.targets import Profile
from chatbot_platform.conversations import service as conversations
from chatbot_platform.conversations.schemas import Exchange
from chatbot_platform.embeddings.openai import estimate_tokens
from chatbot_platform.kit.context import request_id_var
from chatbot_platform.llm import ChatModel, LLMError
from chatbot_platform.ops import metrics
from chatbot_platform.retrieval import search as retrieval
from chatbot_platform.retrieval.schemas import HistoryMessage, SearchRequest, SearchResponse
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from chatbot_platform.runtime import Services
    from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.chat")

DEFAULT_MAX_SOURCES = 6
STORED_HISTORY = 10  # stored messages recalled when the client sends only the new question
SEARCH_HISTORY = 20  # earlier messages the retrieval rewrite may see
QUERY_CHARS = 4000
HISTORY_CHARS = 20000


@dataclass
class Prepared:
    """Everything decided before any answer text exists."""

    question: Question
    text: str
    history: list[Turn]
    language: str
    profile: Profile
    search: SearchResponse
    sources: list[Source]
    outcome: Outcome
    dont_know: str
    options: Options
    started: float
    trace_id: str
    model: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)

    def retrieval(self) -> Retrieval:
        return Retrieval(
            confidence=self.search.confidence,
            knowledge_base_ids=self.search.knowledge_base_ids,
            trace_id=self.trace_id,
            query=self.search.query,
            outcome=self.outcome,
            trace=self.search.trace,
        )


@dataclass(frozen=True)
class Plan:
    """What the database says about a question before searching: who answers, and the history."""

    question: Question
    text: str
    history: list[Turn]
    caller: list[str]
    target: targets.Target
    tenant_name: str
    tenant_language: str
    started: float


async def plan(
    session: AsyncSession, question: Question, *, history_enabled: bool, started: float | None = None
) -> Plan:
    """Check the question, resolve its `assistant`, and recall a stored conversation's last
    messages when the client sent only its new question. Reads only; in the caller's transaction."""
    started = time.perf_counter() if started is None else started
    text, history, caller = split_turns(question.turns)
    target = await targets.resolve(session, question.tenant_id, question.assistant)
    tenant = await tenants.get_tenant_or_raise(session, question.tenant_id)
    if not history and question.conversation_id and history_enabled:
        stored = await conversations.get_by_external_id(session, question.tenant_id, question.conversation_id)
        if stored is not None:
            recalled = await conversations.messages(session, question.tenant_id, stored, limit=STORED_HISTORY)
            history = [Turn(m.role, m.content) for m in recalled]
    return Plan(question, text, history, caller, target, tenant.name, tenant.default_language, started)


async def prepare(services: Services, plan: Plan) -> Prepared:
    """Search, build the context and decide the outcome; raises before any answer is produced."""
    question, text, history, caller, target = plan.question, plan.text, plan.history, plan.caller, plan.target
    profile = target.profile
    max_sources = profile.max_sources or DEFAULT_MAX_SOURCES
    search = await retrieval.search(
        services,
        question.tenant_id,
        SearchRequest(
            query=text[:QUERY_CHARS],
            knowledge_base_ids=target.knowledge_base_ids,
            top_k=max_sources,
            history=[
                HistoryMessage(role=t.role, content=t.content[:HISTORY_CHARS])
                for t in history[-SEARCH_HISTORY:]
            ]
            or None,
            trace=question.trace,
        ),
    )
    sources = build_sources(search.results, search.query, services.settings.rag, max_sources=max_sources)
    language = detect(text, plan.tenant_language)
    prepared = Prepared(
        question=question,
        text=text,
        history=history,
        language=language,
        profile=profile,
        search=search,
        sources=sources,
        outcome=decide(services, profile, sources, search.confidence),
        dont_know=prompts.dont_know_message(profile.dont_know_messages, language),
        options=Options(
            max_tokens=question.options.max_tokens or profile.max_tokens,
            temperature=question.options.temperature
            if question.options.temperature is not None
            else profile.temperature,
            stop=question.options.stop,
            json=question.options.json,
        ),
        started=plan.started,
        trace_id=request_id_var.get() or uuid.uuid4().hex,
    )
    if prepared.outcome is Outcome.ANSWERED and services.chat_model is not None:
        prepared.model = choose_model(services.chat_model, profile, services.settings, text)
        system = prompts.instructions(
            tenant=plan.tenant_name,
            language=language,
            dont_know=prepared.dont_know,
            system_prompt=profile.system_prompt,
            persona=profile.persona,
            caller_instructions=caller,
            json=prepared.options.json,
        )
        prepared.messages = prompts.build_messages(system, history, text, sources)
    return prepared


def split_turns(turns: Sequence[Turn]) -> tuple[str, list[Turn], list[str]]:
    """The question (the last turn, the user's), the earlier user/assistant turns, and the caller's
    system instructions."""
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise InvalidQuestion("The last message must be the user's question, with text.")
    earlier = turns[:-1]
    history = [t for t in earlier if t.role in {"user", "assistant"} and t.content.strip()]
    caller = [t.content.strip() for t in earlier if t.role == "system" and t.content.strip()]
    return turns[-1].content.strip(), history, caller


def decide(services: Services, profile: Profile, sources: Sequence[Source], confidence: float) -> Outcome:
    """The confidence rules: enough citations and confidence answer; so does any citation when
    forced; otherwise "I don't know". Without sources there is nothing to answer from."""
    rag = services.settings.rag
    min_citations = rag.min_citations if profile.min_citations is None else profile.min_citations
    min_confidence = rag.min_confidence if profile.min_confidence is None else profile.min_confidence
    force = (
        rag.force_if_has_citations
        if profile.force_if_has_citations is None
        else profile.force_if_has_citations
    )
    enough = len(sources) >= min_citations and confidence >= min_confidence
    if not sources or not (enough or force):
        return Outcome.DONT_KNOW
    return Outcome.ANSWERED if services.chat_model is not None else Outcome.EXTRACTIVE


def choose_model(llm: ChatModel, profile: Profile, settings: Settings, question: str) -> str:
    """The profile's model, else OPENAI_EXPENSIVE_MODEL for long or many-part questions, else the default."""
    if profile.chat_model:
        return profile.chat_model
    threshold = settings.openai.expensive_if_over_chars
    if threshold and (len(question) > threshold or question.count("?") >= 2):
        return llm.expensive_model
    return llm.model


# -- answering --------------------------------------------------------------------------------------


async def complete(services: Services, prepared: Prepared) -> Answer:
    """The whole answer."""
    if prepared.outcome is not Outcome.ANSWERED or services.chat_model is None:
        return made_answer(prepared)
    options = prepared.options
    try:
        completion = await services.chat_model.complete(
            prepared.messages,
            model=prepared.model,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            response_format={"type": "json_object"} if options.json else None,
        )
    except LLMError as error:
        log.warning("chat model failed", extra={"error": str(error)})
        raise upstream_error(error) from None
    text = completion.text
    if not options.json:
        text, _ = check_markers(text, {s.number for s in prepared.sources})
    text, stopped = apply_stop(text, options.stop)
    finish = "stop" if stopped else (completion.finish_reason or "stop")
    usage = (
        TokenUsage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        if completion.usage
        else _estimated_usage(prepared, text)
    )
    return _answer(prepared, text, finish, usage, completion.model or prepared.model)


async def stream(services: Services, prepared: Prepared) -> AsyncGenerator[AnswerEvent, None]:
    """The answer piece by piece, then `Finished`. Closing the generator closes the model's stream."""
    if prepared.outcome is not Outcome.ANSWERED or services.chat_model is None:
        answer = made_answer(prepared)
        for piece in pieces(answer.text):
            yield TextDelta(piece)
        yield Finished(answer)
        return
    options = prepared.options
    markers = None if options.json else MarkerFilter({s.number for s in prepared.sources})
    stop = StopFilter(options.stop)
    parts: list[str] = []
    usage: TokenUsage | None = None
    finish: str | None = None
    deltas = services.chat_model.stream(
        prepared.messages,
        model=prepared.model,
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        response_format={"type": "json_object"} if options.json else None,
    )
    try:
        async with aclosing(deltas):
            async for delta in deltas:
                if delta.usage is not None:
                    usage = TokenUsage(delta.usage.prompt_tokens, delta.usage.completion_tokens)
                finish = delta.finish_reason or finish
                out = stop.feed(markers.feed(delta.text) if markers else delta.text)
                if out:
                    parts.append(out)
                    yield TextDelta(out)
                if stop.stopped:
                    break  # leaving the block closes the model's stream: it stops generating
    except LLMError as error:
        log.warning("chat model failed", extra={"error": str(error)})
        raise upstream_error(error) from None
    tail = (stop.feed(markers.flush()) if markers else "") + stop.flush()
    if tail:
        parts.append(tail)
        yield TextDelta(tail)
    text = "".join(parts)
    finish = "stop" if stop.stopped else (finish or "stop")
    yield Finished(_answer(prepared, text, finish, usage or _estimated_usage(prepared, text), prepared.model))


def made_answer(prepared: Prepared) -> Answer:
    """The answer no model writes: "I don't know", or the extractive one."""
    if prepared.outcome is Outcome.EXTRACTIVE:
        text = extractive_answer(prepared.sources, prepared.search.query, prepared.language)
    else:
        text = prepared.dont_know
    options = prepared.options
    if options.json:
        text = json.dumps({"answer": text}, ensure_ascii=False)
    truncated = False
    if options.max_tokens is not None and len(text) > options.max_tokens * 4:
        # Four characters a token, the estimate the budgets use; a JSON answer is never cut invalid.
        if not options.json:
            text, truncated = cut(text, options.max_tokens * 4), True
    text, stopped = apply_stop(text, options.stop)
    finish = "length" if truncated and not stopped else "stop"
    return _answer(prepared, text, finish, TokenUsage(), None)


def _answer(prepared: Prepared, text: str, finish: str, usage: TokenUsage, model: str | None) -> Answer:
    retrieval = prepared.retrieval()
    if prepared.outcome is Outcome.ANSWERED and _is_dont_know(prepared, text):
        retrieval.outcome = Outcome.DONT_KNOW  # the model found the sources did not answer
    return Answer(
        text=text,
        citations=_citations(prepared, text, retrieval.outcome),
        retrieval=retrieval,
        finish_reason=finish,
        usage=usage,
        model=model,
    )


def _is_dont_know(prepared: Prepared, text: str) -> bool:
    """The model replied with the "I don't know" message (give or take quotes and a few words)."""
    return prepared.dont_know in text and len(text) <= len(prepared.dont_know) + 40


def _citations(prepared: Prepared, text: str, outcome: Outcome) -> list[Citation]:
    """The sources the answer cites; an answer without markers was still written from all of them."""
    if outcome is Outcome.DONT_KNOW:
        return []
    cited = cited_numbers(text)
    if cited:
        return citations_for(prepared.sources, cited)
    if outcome is Outcome.ANSWERED:
        return citations_for(prepared.sources, [s.number for s in prepared.sources])
    return []


def _estimated_usage(prepared: Prepared, text: str) -> TokenUsage:
    """For servers that send no usage: four characters a token."""
    prompt = estimate_tokens([m["content"] for m in prepared.messages]) if prepared.messages else 0
    return TokenUsage(prompt, math.ceil(len(text) / 4))


# -- after the answer -------------------------------------------------------------------------------


async def record(
    services: Services, prepared: Prepared, answer: Answer, *, first_token_ms: int | None
) -> None:
    """Log the answer, record its token usage and, with a conversation id, store the exchange.

    Never raises: the client already has its answer, and a failed write is only logged.
    """
    question = prepared.question
    latency_ms = int((time.perf_counter() - prepared.started) * 1000)
    log.info(
        "chat answer",
        extra={
            "outcome": answer.retrieval.outcome.value,
            "confidence": prepared.search.confidence,
            "sources": len(prepared.sources),
            "cited": [c.id for c in answer.citations],
            "model": answer.model,
            "prompt_tokens": answer.usage.prompt_tokens,
            "completion_tokens": answer.usage.completion_tokens,
            "latency_ms": latency_ms,
            "first_token_ms": first_token_ms,
        },
    )
    metrics.record_chat_completion(
        question.tenant_id,
        model=answer.model,
        outcome=answer.retrieval.outcome.value,
        seconds=latency_ms / 1000,
        prompt_tokens=answer.usage.prompt_tokens,
        completion_tokens=answer.usage.completion_tokens,
    )
    store = question.conversation_id is not None and services.settings.features.conversation_history_enabled
    if answer.model is None and not store:
        return
    try:
        async with services.database.transaction() as session:
            if answer.model is not None:
                await analytics.record_usage(
                    session,
                    question.tenant_id,
                    kind="chat",
                    model=answer.model,
                    prompt_tokens=answer.usage.prompt_tokens,
                    completion_tokens=answer.usage.completion_tokens,
                    api_key_id=question.api_key_id,
                )
            if store and question.conversation_id is not None:
                await conversations.record_exchange(
                    session,
                    question.tenant_id,
                    question.conversation_id,
                    _exchange(prepared, answer, latency_ms, first_token_ms),
                    end_user=question.end_user,
                    api_key_id=question.api_key_id,
                )
    except Exception:  # the answer was delivered; losing its record must not turn it into an error
        log.exception("could not record the chat exchange")


def _exchange(prepared: Prepared, answer: Answer, latency_ms: int, first_token_ms: int | None) -> Exchange:
    retrieval: dict[str, Any] = answer.retrieval.model_dump(mode="json", exclude={"trace"})
    return Exchange(
        question=prepared.text,
        answer=answer.text,
        citations=[c.model_dump(mode="json") for c in answer.citations],
        retrieval=retrieval,
        outcome=answer.retrieval.outcome.value,
        model=answer.model,
        prompt_tokens=answer.usage.prompt_tokens,
        completion_tokens=answer.usage.completion_tokens,
        latency_ms=latency_ms,
        first_token_ms=first_token_ms,
    )
