"""Retrieval parameters: the RAG_* settings, overridden by the tenant's, then by the knowledge base's.

Fusion weights and the reranker's blend have per-language defaults measured on the benchmark
corpora, not guessed: `bench/retrieval.py --sweep` scores vector weight 0.5 and 1.0 against the
keyword leg's 1.0, and the reranker's embedding share 0.4, 0.5 and 0.6, over every judged query of
squad_it (Italian, 1,000 questions) and scifact (English, 300 claims); figures in
docs/benchmarks.md. Both languages came out flat within 0.005 nDCG@10 around equal weights and an
even blend, best or tied-best there, so those are the defaults; a language without a
measurement gets the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chatbot_platform.settings.sections import RagSettings


@dataclass(frozen=True)
class LanguageDefaults:
    vector_weight: float
    keyword_weight: float
    rerank_vector_share: float


LANGUAGE_DEFAULTS: dict[str, LanguageDefaults] = {
    "italian": LanguageDefaults(vector_weight=1.0, keyword_weight=1.0, rerank_vector_share=0.5),
    "english": LanguageDefaults(vector_weight=1.0, keyword_weight=1.0, rerank_vector_share=0.5),
}
OTHER_LANGUAGES = LanguageDefaults(vector_weight=1.0, keyword_weight=1.0, rerank_vector_share=0.5)


@dataclass(frozen=True)
class RetrievalParams:
    vector_top_k: int
    bm25_top_k: int
    rrf_k: int
    hybrid: bool
    reranker: bool
    reranker_driver: str
    multiquery: bool
    rewrite: bool
    mmr_lambda: float
    mmr_take: int
    neighbor_radius: int
    vector_weight: float
    keyword_weight: float
    rerank_vector_share: float
    synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    vector_leg: bool = True

    def for_mode(self, mode: str) -> RetrievalParams:
        """hybrid: as configured; vector or fulltext: that leg's ranking alone, nothing after it."""
        if mode == "vector":
            return replace(self, hybrid=False, reranker=False, mmr_lambda=1.0)
        if mode == "fulltext":
            return replace(self, hybrid=True, vector_leg=False, reranker=False, mmr_lambda=1.0)
        return self

    def cache_fingerprint(self) -> str:
        synonyms = sorted((k, tuple(v)) for k, v in self.synonyms.items())
        values = {**self.__dict__, "synonyms": synonyms}
        return repr(sorted(values.items()))


OVERRIDABLE = (
    "vector_top_k",
    "bm25_top_k",
    "rrf_k",
    "hybrid",
    "reranker",
    "reranker_driver",
    "multiquery",
    "mmr_lambda",
    "mmr_take",
    "neighbor_radius",
    "vector_weight",
    "keyword_weight",
    "rerank_vector_share",
    "synonyms",
)


def resolve(rag: RagSettings, languages: Sequence[str], *overrides: Mapping[str, Any]) -> RetrievalParams:
    """The parameters for a search over knowledge bases in `languages`; later overrides win."""
    defaults = _language_defaults(languages)
    params = RetrievalParams(
        vector_top_k=rag.vector_top_k,
        bm25_top_k=rag.bm25_top_k,
        rrf_k=rag.rrf_k,
        hybrid=rag.feat_hybrid,
        reranker=rag.feat_reranker,
        reranker_driver=rag.reranker_driver,
        multiquery=rag.feat_multiquery,
        rewrite=rag.feat_context,
        mmr_lambda=rag.mmr_lambda,
        mmr_take=rag.mmr_take,
        neighbor_radius=rag.neighbor_radius,
        vector_weight=defaults.vector_weight,
        keyword_weight=defaults.keyword_weight,
        rerank_vector_share=defaults.rerank_vector_share,
    )
    for layer in overrides:
        changes = {k: layer[k] for k in OVERRIDABLE if layer.get(k) is not None}
        params = replace(params, **changes)
    return params


def _language_defaults(languages: Sequence[str]) -> LanguageDefaults:
    """One language: its defaults; a mix: the average, so no language's leg is silenced."""
    found = [LANGUAGE_DEFAULTS.get(lang, OTHER_LANGUAGES) for lang in set(languages)] or [OTHER_LANGUAGES]
    n = len(found)
    return LanguageDefaults(
        vector_weight=sum(d.vector_weight for d in found) / n,
        keyword_weight=sum(d.keyword_weight for d in found) / n,
        rerank_vector_share=sum(d.rerank_vector_share for d in found) / n,
    )
