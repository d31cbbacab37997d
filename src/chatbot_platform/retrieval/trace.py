"""A search's trace: each stage with its timing and, when asked for, its candidates and scores."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

TRACE_CANDIDATES = 50  # per stage: enough to see why a passage won or lost


class Trace:
    """Stages are always timed; their candidates are listed only when the caller asked for a trace
    (`detailed`), so an ordinary search does not build lists it would throw away."""

    def __init__(self, *, detailed: bool = True) -> None:
        self.detailed = detailed
        self.stages: list[dict[str, Any]] = []
        self._started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        """Time the block; whatever it puts in the yielded dict is recorded with the stage."""
        record: dict[str, Any] = {"stage": name}
        started = time.perf_counter()
        try:
            yield record
        finally:
            record["ms"] = round((time.perf_counter() - started) * 1000, 2)
            self.stages.append(record)

    def candidates(self, scores: Mapping[uuid.UUID, float]) -> list[dict[str, Any]]:
        return candidates(scores) if self.detailed else []

    def total_ms(self) -> float:
        return round((time.perf_counter() - self._started) * 1000, 2)


def candidates(scores: Mapping[uuid.UUID, float], limit: int = TRACE_CANDIDATES) -> list[dict[str, Any]]:
    return [
        {"chunk_id": str(chunk_id), "rank": rank, "score": round(score, 6)}
        for rank, (chunk_id, score) in enumerate(list(scores.items())[:limit], start=1)
    ]
