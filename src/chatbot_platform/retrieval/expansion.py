"""The steps that need the chat model: follow-up rewrite, multi-query and HyDE, LLM reranking.

Each runs only when a model is configured and its feature is on; each degrades to doing nothing
when the model fails (llm_steps logs why), so a search never fails because of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from chatbot_platform.llm import ChatModel
from chatbot_platform.retrieval import llm_steps, ranking
from chatbot_platform.retrieval.params import RetrievalParams
from chatbot_platform.retrieval.schemas import HistoryMessage

LLM_RERANK_TAKE = 20
LLM_SHARE = 0.5  # the model's score and the embedding reranker's, equally


async def standalone_query(
    llm: ChatModel | None, params: RetrievalParams, query: str, history: Sequence[HistoryMessage] | None
) -> str:
    if llm is None or not params.rewrite or not history:
        return query
    messages = [{"role": m.role, "content": m.content} for m in history]
    return await llm_steps.standalone_question(llm, messages, query)


async def query_variants(llm: ChatModel | None, params: RetrievalParams, query: str) -> list[str]:
    """Rephrasings and a hypothetical answer passage (HyDE) to search with besides the query."""
    if llm is None or not params.multiquery:
        return []
    variants = await llm_steps.query_variants(llm, query)
    passage = await llm_steps.hypothetical_passage(llm, query)
    return [v for v in [*variants, passage] if v and v != query]


async def llm_rerank(
    llm: ChatModel,
    query: str,
    relevance: Mapping[uuid.UUID, float],
    texts: Mapping[uuid.UUID, str],
) -> dict[uuid.UUID, float]:
    """The top candidates re-scored by the model (blended with their score so far), best first;
    the rest keep their order below them."""
    top = list(relevance)[:LLM_RERANK_TAKE]
    scores = await llm_steps.llm_rerank(llm, query, [(str(c), texts[c]) for c in top])
    if not scores:
        return dict(relevance)
    before = ranking.min_max(relevance, top)
    blended = {c: LLM_SHARE * scores.get(str(c), 0.0) + (1 - LLM_SHARE) * before[c] for c in top}
    ordered = dict(sorted(blended.items(), key=lambda item: -item[1]))
    floor = min(ordered.values(), default=0.0)
    rest = [c for c in relevance if c not in ordered]
    for n, chunk_id in enumerate(rest):
        ordered[chunk_id] = floor - (n + 1) * 1e-6
    return ordered
