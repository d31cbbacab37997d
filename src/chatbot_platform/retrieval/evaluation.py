"""Retrieval quality on a BEIR-style set: nDCG@10, Recall@10, MRR@10 and latency percentiles.

Results are chunks; they are judged by their document's external id (the corpus `_id`), keeping
each document's first appearance, as BEIR does for passages of one document.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

K = 10
Qrels = dict[str, dict[str, int]]
SearchFn = Callable[[str], Awaitable[list[str | None]]]


def load_queries(path: Path) -> dict[str, str]:
    """`_id` -> `text` from a JSON-lines file."""
    queries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = str(row["text"])
    return queries


def load_qrels(path: Path) -> Qrels:
    """query id -> {document id: grade} from a TSV file with a header line."""
    qrels: Qrels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if n == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue
        if len(parts) >= 3 and int(parts[2]) > 0:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def unique(ids: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in ids:
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], k: int = K) -> float:
    gains = [relevant.get(doc, 0) for doc in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: Sequence[str], relevant: Mapping[str, int], k: int = K) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr(ranked: Sequence[str], relevant: Mapping[str, int], k: int = K) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass(frozen=True)
class Report:
    mode: str
    queries: int
    ndcg: float
    recall: float
    mrr: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def row(self) -> list[str]:
        return [
            self.mode,
            str(self.queries),
            f"{self.ndcg:.3f}",
            f"{self.recall:.3f}",
            f"{self.mrr:.3f}",
            f"{self.p50_ms:.1f}",
            f"{self.p95_ms:.1f}",
            f"{self.p99_ms:.1f}",
        ]


HEADERS = ["mode", "queries", "nDCG@10", "Recall@10", "MRR@10", "p50 ms", "p95 ms", "p99 ms"]


async def evaluate(mode: str, queries: Mapping[str, str], qrels: Qrels, search: SearchFn) -> Report:
    """Run every judged query through `search` (one at a time) and score the rankings."""
    scores: list[tuple[float, float, float]] = []
    latencies: list[float] = []
    for query_id, relevant in qrels.items():
        if query_id not in queries:
            continue
        started = time.perf_counter()
        ranked = unique(await search(queries[query_id]))
        latencies.append((time.perf_counter() - started) * 1000)
        scores.append((ndcg(ranked, relevant), recall(ranked, relevant), mrr(ranked, relevant)))
    if not scores:
        return Report(mode, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return Report(
        mode=mode,
        queries=len(scores),
        ndcg=statistics.fmean(s[0] for s in scores),
        recall=statistics.fmean(s[1] for s in scores),
        mrr=statistics.fmean(s[2] for s in scores),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
    )
