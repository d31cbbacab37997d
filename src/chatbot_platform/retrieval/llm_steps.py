"""Retrieval steps that ask the chat model: follow-up rewriting, multi-query, HyDE and LLM reranking.

Each step is optional polish on retrieval, so a failing or rambling model degrades it to the plain
query (the unchanged question, no variants, no scores) with a warning in the log, never an error.
Prompts are in English and tell the model to keep the question's language (Italian or English).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from chatbot_platform.llm import ChatModel, LLMError

log = logging.getLogger("chatbot_platform.retrieval")

STANDALONE_PROMPT = """\
You rewrite the last question of a conversation so that it can be understood without the \
conversation. Use the conversation only to resolve what the question refers to (pronouns, \
omitted subjects, "and how much does it cost?"). Keep the meaning; do not answer it and do not \
add facts. Write it in the same language as the last question (Italian stays Italian, English \
stays English). If it is already standalone, return it unchanged. Reply with the question only."""

QUERY_VARIANTS_PROMPT = """\
You help a search engine over a knowledge base. Write {n} different rephrasings of the user's \
question: vary the wording, use synonyms and related terms, keep the meaning. Write them in the \
same language as the question (Italian stays Italian, English stays English). Reply with a JSON \
array of {n} strings and nothing else."""

HYPOTHETICAL_PASSAGE_PROMPT = """\
Write a short passage (three to five sentences) from a company's documentation that would answer \
the user's question. If you do not know the facts, write a plausible passage anyway: it is only \
used to search, never shown. Write it in the same language as the question (Italian stays \
Italian, English stays English). Reply with the passage only."""

RERANK_PROMPT = """\
You judge how well passages answer a question. Give each passage a score from 0 (unrelated) to \
100 (answers the question fully). Passages and question may be in Italian or English; judge the \
meaning, not the language. Reply with a JSON object mapping every passage number to its score, \
for example {"1": 85, "2": 10}, and nothing else."""

# Bounds on what goes into a prompt: recent turns matter for a follow-up, whole documents do not.
HISTORY_MESSAGES = 6
HISTORY_MESSAGE_CHARS = 1000
RERANK_PASSAGE_CHARS = 1500

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


async def standalone_question(llm: ChatModel, history: Sequence[Mapping[str, str]], question: str) -> str:
    """`question` rewritten to stand alone given `history`; unchanged without history or on failure."""
    turns = [m for m in history if m.get("role") in {"user", "assistant"} and m.get("content")]
    if not turns:
        return question
    conversation = "\n".join(
        f"{m['role']}: {m['content'][:HISTORY_MESSAGE_CHARS]}" for m in turns[-HISTORY_MESSAGES:]
    )
    prompt = f"Conversation:\n{conversation}\n\nLast question: {question}"
    text = await _ask(llm, "standalone_question", STANDALONE_PROMPT, prompt, max_tokens=200)
    rewritten = text.strip().strip("\"'«»“”").strip()
    # An empty or rambling answer (the model answered instead of rewriting) is no rewrite.
    if not rewritten or len(rewritten) > 4 * len(question) + 300:
        return question
    return rewritten


async def query_variants(llm: ChatModel, question: str, n: int = 3) -> list[str]:
    """Up to `n` rephrasings of `question` for multi-query search, none equal to it; [] on failure."""
    if n <= 0:
        return []
    text = await _ask(
        llm, "query_variants", QUERY_VARIANTS_PROMPT.format(n=n), question, max_tokens=60 * n, temperature=0.7
    )
    # From the first "[" to the last "]": also finds the array inside {"questions": [...]} or prose.
    answer = _json_in(text, "[", "]")
    if not isinstance(answer, list):
        if text:
            log.warning("query variants were not a JSON array", extra={"step": "query_variants"})
        return []
    variants: list[str] = []
    seen = {question.strip().casefold()}
    for item in answer:
        if isinstance(item, str) and (variant := item.strip()) and variant.casefold() not in seen:
            seen.add(variant.casefold())
            variants.append(variant)
    return variants[:n]


async def hypothetical_passage(llm: ChatModel, question: str) -> str:
    """A short passage that would answer `question`, to search with (HyDE); "" on failure."""
    text = await _ask(
        llm, "hypothetical_passage", HYPOTHETICAL_PASSAGE_PROMPT, question, max_tokens=300, temperature=0.3
    )
    return text.strip()


async def llm_rerank(llm: ChatModel, question: str, passages: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Scores in 0..1 for `(id, text)` passages in one call; ids the model skipped get none; {} on failure."""
    if not passages:
        return {}
    # Short numbers, not the real ids: a model copies "3" reliably, a UUID less so.
    by_number = {str(i): passage_id for i, (passage_id, _) in enumerate(passages, start=1)}
    listed = "\n\n".join(
        f"[{i}]\n{text[:RERANK_PASSAGE_CHARS]}" for i, (_, text) in enumerate(passages, start=1)
    )
    prompt = f"Question: {question}\n\nPassages:\n\n{listed}"
    text = await _ask(llm, "llm_rerank", RERANK_PROMPT, prompt, max_tokens=12 * len(passages) + 32)
    answer = _json_in(text, "{", "}")
    if not isinstance(answer, dict):
        if text:
            log.warning("rerank scores were not a JSON object", extra={"step": "llm_rerank"})
        return {}
    scores: dict[str, float] = {}
    for key, value in answer.items():
        passage_id = by_number.get(str(key).strip().strip("[]"))
        score = _number(value)
        if passage_id is not None and score is not None:
            scores[passage_id] = min(max(score, 0.0), 100.0) / 100
    return scores


async def _ask(
    llm: ChatModel,
    step: str,
    system: str,
    user: str,
    *,
    max_tokens: int,
    temperature: float = 0.0,
) -> str:
    """The model's answer to one system + user prompt, or "" (logged) when it fails."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        completion = await llm.complete(messages, max_tokens=max_tokens, temperature=temperature)
    except LLMError as error:
        log.warning("retrieval step failed", extra={"step": step, "reason": error.message})
        return ""
    return completion.text


def _json_in(text: str, opener: str, closer: str) -> Any:
    """The JSON value between the first `opener` and the last `closer` of `text`, or None."""
    text = _FENCE.sub("", text.strip())
    start, end = text.find(opener), text.rfind(closer)
    if start == -1 or end <= start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    """A score given as a number or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
