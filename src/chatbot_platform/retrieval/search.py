"""The retrieval pipeline (product spec §8), one stage after another, each traced:

rewrite (follow-up, synonyms, multi-query/HyDE) -> vector and full-text legs, concurrently ->
weighted reciprocal rank fusion -> filters -> reranker (embedding re-scoring of the fused top
candidates, then the chat model's when RAG_RERANKER_DRIVER=llm) -> MMR -> neighbour expansion.

Every query names the tenant; knowledge base ids are checked against it before any leg runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.kit.errors import BadRequest
from chatbot_platform.knowledge.errors import KnowledgeBaseNotFound
from chatbot_platform.knowledge.repository import KnowledgeBaseRepo
from chatbot_platform.models import KnowledgeBase, Tenant
from chatbot_platform.ops import metrics
from chatbot_platform.retrieval import expansion, passages, ranking
from chatbot_platform.retrieval.cache import digest
from chatbot_platform.retrieval.legs import Candidates, LegScope, run_legs
from chatbot_platform.retrieval.params import RetrievalParams, resolve
from chatbot_platform.retrieval.rewrite import expand_synonyms
from chatbot_platform.retrieval.schemas import SearchRequest, SearchResponse, SearchResult
from chatbot_platform.retrieval.stores.base import StoredVector
from chatbot_platform.retrieval.trace import Trace
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services


class MultiKnowledgeBaseDisabled(BadRequest):
    def __init__(self) -> None:
        super().__init__("Searching several knowledge bases at once is disabled (MULTI_KB_SEARCH_ENABLED).")


class NothingToSearch(BadRequest):
    def __init__(self) -> None:
        super().__init__("The tenant has no knowledge base to search.")


@dataclass(frozen=True)
class SearchScope:
    tenant: Tenant
    knowledge_bases: list[KnowledgeBase]
    params: RetrievalParams
    embedder: Embedder
    generations: dict[uuid.UUID, int]

    @property
    def kb_ids(self) -> list[uuid.UUID]:
        return [kb.id for kb in self.knowledge_bases]

    def for_legs(self) -> LegScope:
        return LegScope(self.tenant.id, self.kb_ids, self.params, self.embedder)


async def search(
    services: Services, tenant_id: uuid.UUID, request: SearchRequest, *, use_cache: bool = True
) -> SearchResponse:
    """Run the whole pipeline for one request of one tenant."""
    trace = Trace(detailed=request.trace)
    scope = await _scope(services, tenant_id, request.knowledge_base_ids, request.mode)
    cache = services.retrieval_cache
    key = _cache_key(scope, request)
    use_cache = use_cache and services.settings.rag.cache_enabled and not request.trace
    if use_cache and (hit := await cache.get_result(key)) is not None:
        metrics.record_rag_query(tenant_id, (), cached=True)
        return SearchResponse.model_validate({**hit, "cached": True})
    with trace.stage("rewrite") as stage:
        llm = services.chat_model
        query = await expansion.standalone_query(llm, scope.params, request.query, request.history)
        variants = await expansion.query_variants(llm, scope.params, query)
        keyword_query = expand_synonyms(query, scope.params.synonyms)
        stage.update(original=request.query, query=query, keyword_query=keyword_query, variants=variants)
    found = await run_legs(services, scope.for_legs(), [query, *variants], trace)
    results, fused = await _rank(services, scope, request, query, found, trace)
    confidence = confidence_of(fused, [r.chunk_id for r in results])
    response = SearchResponse(
        results=results, query=query, confidence=confidence, knowledge_base_ids=scope.kb_ids
    )
    metrics.record_rag_query(tenant_id, trace.stages)
    if use_cache:
        await cache.put_result(key, response.model_dump(mode="json"), services.settings.rag.cache_ttl)
    if request.trace:
        response.trace = [*trace.stages, {"stage": "total", "ms": trace.total_ms()}]
    return response


async def _scope(
    services: Services, tenant_id: uuid.UUID, kb_ids: Sequence[uuid.UUID] | None, mode: str
) -> SearchScope:
    multi = services.settings.features.multi_kb_search_enabled
    async with services.database.read_session() as session:
        tenant = await tenants.get_tenant_or_raise(session, tenant_id)
        repo = KnowledgeBaseRepo(session, tenant_id)
        if kb_ids:
            kbs = await repo.list(KnowledgeBase.id.in_(list(kb_ids)))
            if len(kbs) != len(set(kb_ids)):
                raise KnowledgeBaseNotFound()
        elif multi:
            kbs = await repo.list(order_by=[KnowledgeBase.created_at])
        else:
            kbs = [kb] if (kb := await repo.get_default()) else []
        embedder = services.embedder_for(tenant.embedding_model)
        generations = await passages.generations(session, tenant_id, [kb.id for kb in kbs])
    if len(kbs) > 1 and not multi:
        raise MultiKnowledgeBaseDisabled()
    if not kbs:
        raise NothingToSearch()
    layers: list[dict[str, Any]] = [tenant.settings]
    if len(kbs) == 1:
        layers.append(kbs[0].settings)
    params = resolve(services.settings.rag, [kb.language for kb in kbs], *layers).for_mode(mode)
    return SearchScope(tenant, kbs, params, embedder, generations)


def _cache_key(scope: SearchScope, request: SearchRequest) -> str:
    return digest(
        str(scope.tenant.id),
        sorted((str(k), g) for k, g in scope.generations.items()),
        scope.embedder.model,
        scope.params.cache_fingerprint(),
        request.model_dump(mode="json", exclude={"trace"}),
    )


# -- ranking --------------------------------------------------------------------------------------


async def _rank(
    services: Services,
    scope: SearchScope,
    request: SearchRequest,
    query: str,
    found: Candidates,
    trace: Trace,
) -> tuple[list[SearchResult], dict[uuid.UUID, float]]:
    params = scope.params
    with trace.stage("fused") as stage:
        fused = ranking.weighted_rrf(found.weighted_rankings(params), params.rrf_k)
        weights = {"vector": params.vector_weight, "fulltext": params.keyword_weight}
        stage.update(rrf_k=params.rrf_k, weights=weights, candidates=trace.candidates(fused))
    pool = list(fused)[: max(params.mmr_take, request.top_k)]
    with trace.stage("filtered") as stage:
        details = await passages.details(services.database, scope.tenant.id, pool, request.filters)
        pool = [chunk_id for chunk_id in pool if chunk_id in details]
        filters = request.filters.model_dump(exclude_none=True) if request.filters else {}
        stage.update(kept=len(pool), filters=filters)
    relevance = {chunk_id: fused[chunk_id] for chunk_id in pool}
    vectors: dict[uuid.UUID, StoredVector] = {}
    if found.query_vector is not None and (params.reranker or params.mmr_lambda < 1):
        vectors = await services.vector_store.vectors(scope.tenant.id, pool, model=scope.embedder.model)
    if params.reranker:
        relevance = await _rerank(services, scope, query, found, relevance, vectors, details, trace)
    with trace.stage("mmr") as stage:
        chosen = ranking.mmr(relevance, vectors, lambda_=params.mmr_lambda, take=request.top_k)
        stage.update(lambda_=params.mmr_lambda, selected=[str(c) for c in chosen])
    with trace.stage("neighbors") as stage:
        hits = [details[c] for c in chosen]
        neighbors = await passages.neighbors(services.database, scope.tenant.id, hits, params.neighbor_radius)
        stage.update(radius=params.neighbor_radius, added=sum(len(n) for n in neighbors.values()))
    return [passages.result(details[c], relevance[c], neighbors.get(c, [])) for c in chosen], fused


def confidence_of(fused: dict[uuid.UUID, float], chosen: Sequence[uuid.UUID]) -> float:
    """The original product's measure, kept so RAG_MIN_CONFIDENCE keeps its meaning: a passage first
    in both legs scores 2/61, so three such give about 1, one leg's top three about 0.5."""
    top = sorted((fused.get(c, 0.0) for c in chosen), reverse=True)[:3]
    return round(min(1.0, 10 * sum(top)), 4)


async def _rerank(
    services: Services,
    scope: SearchScope,
    query: str,
    found: Candidates,
    relevance: dict[uuid.UUID, float],
    vectors: dict[uuid.UUID, StoredVector],
    details: dict[uuid.UUID, passages.Passage],
    trace: Trace,
) -> dict[uuid.UUID, float]:
    params = scope.params
    if found.query_vector is not None:
        with trace.stage("reranked") as stage:
            similarity = ranking.cosine(found.query_vector, vectors)
            relevance = ranking.blend(
                list(relevance), similarity, found.keyword_scores(), params.rerank_vector_share
            )
            share = params.rerank_vector_share
            stage.update(reranker="embedding", vector_share=share, candidates=trace.candidates(relevance))
    llm = services.chat_model
    if params.reranker_driver == "llm" and llm is not None:
        with trace.stage("reranked_llm") as stage:
            texts = {c: details[c].text for c in relevance}
            relevance = await expansion.llm_rerank(llm, query, relevance, texts)
            stage.update(reranker="llm", candidates=trace.candidates(relevance))
    return relevance
