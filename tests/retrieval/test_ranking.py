"""The pure ranking steps, on hand-made inputs."""

from __future__ import annotations

import uuid

import pytest

from chatbot_platform.retrieval import evaluation, ranking
from chatbot_platform.retrieval.rewrite import expand_synonyms

A, B, C, D = (uuid.UUID(int=n) for n in range(1, 5))


def test_weighted_rrf_adds_weighted_reciprocal_ranks() -> None:
    fused = ranking.weighted_rrf([(1.0, [A, B, C]), (2.0, [C, D])], k=60)
    assert next(iter(fused)) == C
    assert fused[C] == pytest.approx(1 / 63 + 2 / 61)
    assert fused[D] == pytest.approx(2 / 62)
    assert ranking.weighted_rrf([(0.0, [A]), (1.0, [B])], k=60) == {B: pytest.approx(1 / 61)}


def test_blend_mixes_scaled_similarity_and_keyword_scores() -> None:
    scores = ranking.blend([A, B, C], {A: 0.9, B: 0.5, C: 0.7}, {B: 12.0, C: 2.0}, vector_share=0.5)
    assert scores[A] == pytest.approx(0.5)  # best similarity, no keyword score
    assert scores[B] == pytest.approx(0.5)  # worst similarity, best keyword score
    assert scores[C] == pytest.approx(0.25)
    only_vectors = ranking.blend([A, B], {A: 0.2, B: 0.8}, {}, vector_share=1.0)
    assert list(only_vectors) == [B, A]


def test_mmr_with_lambda_one_keeps_relevance_order_and_low_lambda_skips_duplicates() -> None:
    relevance = {A: 1.0, B: 0.9, C: 0.5}
    vectors = {A: [1.0, 0.0], B: [0.99, 0.01], C: [0.0, 1.0]}
    assert ranking.mmr(relevance, vectors, lambda_=1.0, take=3) == [A, B, C]
    assert ranking.mmr(relevance, vectors, lambda_=0.3, take=2) == [A, C]
    assert ranking.mmr(relevance, {}, lambda_=0.3, take=2) == [A, B], "no vectors: no redundancy penalty"


def test_synonyms_are_appended_for_whole_words_only() -> None:
    synonyms = {"comune": ["municipio"], "tari": ["tassa rifiuti"]}
    assert expand_synonyms("Orari del Comune", synonyms) == "Orari del Comune municipio"
    assert expand_synonyms("comunemente", synonyms) == "comunemente"
    assert expand_synonyms("TARI e comune", synonyms) == "TARI e comune municipio tassa rifiuti"


def test_metrics_follow_their_definitions() -> None:
    relevant = {"d2": 1, "d9": 1}
    ranked = ["d1", "d2", "d3"]
    assert evaluation.mrr(ranked, relevant) == pytest.approx(0.5)
    assert evaluation.recall(ranked, relevant) == pytest.approx(0.5)
    assert evaluation.ndcg(ranked, relevant) == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625))
    assert evaluation.unique(["a", None, "a", "b"]) == ["a", "b"]
    assert evaluation.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
