"""The two retrieval legs, run concurrently for the query and each of its variants."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.retrieval.keyword import bm25_search
from chatbot_platform.retrieval.params import RetrievalParams
from chatbot_platform.retrieval.rewrite import expand_synonyms
from chatbot_platform.retrieval.trace import Trace

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)
VARIANT_WEIGHT = 0.5  # a rephrasing by the model counts half as much as the user's own words


@dataclass(frozen=True)
class LegScope:
    tenant_id: uuid.UUID
    kb_ids: list[uuid.UUID]
    params: RetrievalParams
    embedder: Embedder


@dataclass
class Candidates:
    """Each leg's ranking per query text (the user's query first), and the query's vector."""

    vector: list[dict[uuid.UUID, float]] = field(default_factory=list)
    keyword: list[dict[uuid.UUID, float]] = field(default_factory=list)
    query_vector: list[float] | None = None

    def weighted_rankings(self, params: RetrievalParams) -> list[tuple[float, list[uuid.UUID]]]:
        rankings = []
        for weight, lists in ((params.vector_weight, self.vector), (params.keyword_weight, self.keyword)):
            for n, scores in enumerate(lists):
                rankings.append((weight * (1.0 if n == 0 else VARIANT_WEIGHT), list(scores)))
        return rankings

    def keyword_scores(self) -> dict[uuid.UUID, float]:
        """The best full-text score of each chunk over the query texts."""
        best: dict[uuid.UUID, float] = {}
        for scores in self.keyword:
            for chunk_id, score in scores.items():
                best[chunk_id] = max(score, best.get(chunk_id, 0.0))
        return best


async def run_legs(services: Services, scope: LegScope, texts: Sequence[str], trace: Trace) -> Candidates:
    """Both legs for every text at once; the first text is the user's (its vector is kept)."""
    vector_runs = asyncio.gather(*(_vector_leg(services, scope, t, trace, n) for n, t in enumerate(texts)))
    keyword_runs = asyncio.gather(*(_keyword_leg(services, scope, t, trace, n) for n, t in enumerate(texts)))
    vectors, keywords = await asyncio.gather(vector_runs, keyword_runs)
    return Candidates(
        vector=[scores for _, scores in vectors if scores is not None],
        keyword=[scores for scores in keywords if scores is not None],
        query_vector=vectors[0][0] if vectors else None,
    )


def _label(stage: str, n: int) -> str:
    return stage if n == 0 else f"{stage}[variant {n}]"


async def _vector_leg(
    services: Services, scope: LegScope, text: str, trace: Trace, n: int
) -> tuple[list[float] | None, dict[uuid.UUID, float] | None]:
    if not scope.params.vector_leg:
        return None, None
    with trace.stage(_label("embed_query", n)) as stage:
        query_vector = await _query_vector(services, scope.embedder, text)
        stage.update(model=scope.embedder.model, ok=query_vector is not None)
    if query_vector is None:
        return None, None
    with trace.stage(_label("vector", n)) as stage:
        hits = await services.vector_store.search(
            scope.tenant_id,
            scope.kb_ids,
            query_vector,
            model=scope.embedder.model,
            top_k=scope.params.vector_top_k,
        )
        scores = {hit.chunk_id: hit.score for hit in hits}
        stage.update(top_k=scope.params.vector_top_k, candidates=trace.candidates(scores))
    return query_vector, scores


async def _query_vector(services: Services, embedder: Embedder, query: str) -> list[float] | None:
    cache = services.retrieval_cache
    if (cached := await cache.get_embedding(embedder.model, query)) is not None:
        return cached
    try:
        vector = await embedder.embed_query(query)
    except Exception:
        # The keyword leg still answers: a search degrades rather than fails when the model is down.
        log.exception("query embedding failed; searching by keywords only")
        return None
    await cache.put_embedding(embedder.model, query, vector)
    return vector


async def _keyword_leg(
    services: Services, scope: LegScope, text: str, trace: Trace, n: int
) -> dict[uuid.UUID, float] | None:
    if not scope.params.hybrid:
        return None
    keyword_query = expand_synonyms(text, scope.params.synonyms)
    with trace.stage(_label("fulltext", n)) as stage:
        async with services.database.reader() as conn:
            hits = await bm25_search(
                conn, scope.tenant_id, scope.kb_ids, keyword_query, top_k=scope.params.bm25_top_k
            )
        scores = {hit.chunk_id: hit.score for hit in hits}
        listed = trace.candidates(scores)
        stage.update(query=keyword_query, top_k=scope.params.bm25_top_k, ranking="bm25", candidates=listed)
    return scores
