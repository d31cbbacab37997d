"""Inline citation markers: `[n]` in the answer names source n of the context.

Markers are checked against the context (a number that names no source given to the model is
removed, so every marker maps to an entry of `citations`), also while streaming: a possible marker
is held back until it closes. Stop sequences are applied the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from chatbot_platform.chat.context import Source
from chatbot_platform.chat.schemas import Citation

# "[1]", "[1, 2]", "[1][3]" (two markers); a space before a removed marker goes with it.
_MARKER = re.compile(r"(\s?)\[(\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*)\]")
_MAYBE_MARKER = re.compile(r"\s*\[[\d\s,;]*$")
_HOLD_CHARS = 24  # longer than any marker: an open bracket held longer is plain text
SNIPPET_CHARS = 500


def check_markers(text: str, valid: Collection[int]) -> tuple[str, list[int]]:
    """`text` with markers naming no valid source removed (`[1, 2]` written `[1][2]`), and the
    valid numbers cited, in order of first mention."""
    cited: list[int] = []

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        good = [n for n in numbers if n in valid]
        cited.extend(n for n in good if n not in cited)
        return match.group(1) + "".join(f"[{n}]" for n in good) if good else ""

    return _MARKER.sub(replace, text), cited


def cited_numbers(text: str) -> list[int]:
    """The numbers of every marker in `text`, in order of first mention (for JSON answers, left as is)."""
    seen: list[int] = []
    for match in _MARKER.finditer(text):
        seen.extend(n for n in (int(d) for d in re.findall(r"\d+", match.group(2))) if n not in seen)
    return seen


class MarkerFilter:
    """`check_markers` over a stream of pieces."""

    def __init__(self, valid: Collection[int]) -> None:
        self._valid = set(valid)
        self._pending = ""
        self.cited: list[int] = []

    def feed(self, text: str) -> str:
        self._pending += text
        hold_from = len(self._pending)
        maybe = _MAYBE_MARKER.search(self._pending)
        if maybe is not None and len(self._pending) - maybe.start() <= _HOLD_CHARS:
            hold_from = maybe.start()
        else:
            # Trailing whitespace may belong to a marker in the next piece (and go if it is removed).
            hold_from = len(self._pending.rstrip())
        return self._release(hold_from)

    def flush(self) -> str:
        return self._release(len(self._pending))

    def _release(self, upto: int) -> str:
        ready, self._pending = self._pending[:upto], self._pending[upto:]
        checked, cited = check_markers(ready, self._valid)
        self.cited.extend(n for n in cited if n not in self.cited)
        return checked


class StopFilter:
    """Ends a stream at the first stop sequence, which is not sent (OpenAI's `stop`)."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._keep = max((len(s) for s in self._stops), default=1) - 1
        self._tail = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped:
            return ""
        if not self._stops:
            return text
        buffer = self._tail + text
        found = [i for i in (buffer.find(s) for s in self._stops) if i >= 0]
        if found:
            self.stopped, self._tail = True, ""
            return buffer[: min(found)]
        split = max(len(buffer) - self._keep, 0)
        self._tail = buffer[split:]
        return buffer[:split]

    def flush(self) -> str:
        tail, self._tail = self._tail, ""
        return "" if self.stopped else tail


def apply_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop sequence, and whether one was found."""
    stop = StopFilter(stops)
    head = stop.feed(text) + stop.flush()
    return head, stop.stopped


def citations_for(sources: Sequence[Source], numbers: Sequence[int]) -> list[Citation]:
    """The citations of the sources numbered `numbers`, in number order."""
    by_number = {s.number: s for s in sources}
    return [_citation(by_number[n]) for n in sorted(set(numbers)) if n in by_number]


def _citation(source: Source) -> Citation:
    result = source.result
    snippet = source.text if len(source.text) <= SNIPPET_CHARS else source.text[: SNIPPET_CHARS - 1] + "…"
    return Citation(
        id=source.number,
        title=result.title,
        url=result.url,
        document_id=result.document_id,
        external_id=result.external_id,
        chunk_id=result.chunk_id,
        knowledge_base_id=result.knowledge_base_id,
        snippet=snippet,
        score=round(result.score, 6),
    )
