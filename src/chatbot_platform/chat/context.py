"""The context an answer is written from: numbered sources built from search results within
`RAG_CTX_MAX_CHARS`, each passage with its neighbouring chunks, and long passages compressed to
their sentences about the question (`RAG_CTX_COMPRESS_IF_OVER` → `RAG_CTX_COMPRESS_TARGET`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chatbot_platform.retrieval.schemas import SearchResult
from chatbot_platform.settings.sections import RagSettings

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
_WORD = re.compile(r"\w+", re.UNICODE)
_STEM = 5  # Italian and English inflections mostly change the ending: "richiede"/"richiesta" → "richi"
_SKIP = frozenset(
    "the and for with that this what when where which how are was can does from una uno per con che "
    "come quando dove quale sono della delle degli dei del nel nella alla alle".split()
)
MIN_PASSAGE_CHARS = 200  # a passage cut shorter than this is left out rather than given half-said
GAP = " … "


@dataclass(frozen=True)
class Source:
    """A numbered source of the context: the search result and the text the model is given."""

    number: int
    result: SearchResult
    text: str

    def block(self) -> str:
        heading = " > ".join([self.result.title, *self.result.heading_path])
        return f"[{self.number}] {heading}\n{self.text}"


def build_sources(
    results: Sequence[SearchResult], question: str, rag: RagSettings, *, max_sources: int
) -> list[Source]:
    """Sources in result order, numbered from 1, whose blocks fit in `rag.ctx_max_chars` together.

    With `RAG_CTX_ENABLED=false` a source is its chunk alone (no neighbours, no compression).
    """
    sources: list[Source] = []
    remaining = rag.ctx_max_chars
    for result in results[:max_sources]:
        text = passage(result) if rag.ctx_enabled else result.text
        if rag.ctx_enabled and len(text) > rag.ctx_compress_if_over:
            text = compress(text, question, rag.ctx_compress_target, keep=result.text)
        number = len(sources) + 1
        overhead = len(Source(number, result, "").block()) + 2  # the blank line between blocks
        if overhead + len(text) > remaining:
            text = cut(text, remaining - overhead)
            if len(text) < MIN_PASSAGE_CHARS:
                break
        sources.append(Source(number, result, text))
        remaining -= overhead + len(text)
    return sources


def passage(result: SearchResult) -> str:
    """The hit with its neighbours in document order (the hit's place is where their ordinals skip)."""
    if not result.neighbors:
        return result.text
    ordinals = [n.ordinal for n in result.neighbors]
    before = 0
    for i in range(1, len(ordinals)):
        if ordinals[i] - ordinals[i - 1] > 1:
            before = i
            break
    else:
        # No gap: the hit is at one end; ordinal 1 first means the hit is the document's chunk 0.
        before = 0 if ordinals[0] == 1 else len(ordinals)
    texts = [n.text for n in result.neighbors]
    return "\n".join([*texts[:before], result.text, *texts[before:]])


def terms(text: str) -> set[str]:
    """The words of `text` that carry meaning, cut to a common stem."""
    return {w[:_STEM] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _SKIP}


def compress(text: str, question: str, target: int, *, keep: str = "") -> str:
    """The sentences of `text` most about `question`, in their order, within about `target` chars.

    Sentences of `keep` (the passage the search found) count a little more than their neighbours'.
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    if not sentences:
        return ""
    wanted = terms(question)
    kept = {s.strip() for s in _SENTENCE_END.split(keep)} if keep else set()

    def score(index: int) -> tuple[float, int]:
        sentence = sentences[index]
        overlap = len(terms(sentence) & wanted)
        return (overlap + (0.5 if sentence in kept else 0.0), -index)

    ranked = sorted(range(len(sentences)), key=score, reverse=True)
    chosen: list[int] = []
    size = 0
    for index in ranked:
        length = len(sentences[index]) + len(GAP)
        if chosen and size + length > target:
            continue
        chosen.append(index)
        size += length
    chosen.sort()
    parts: list[str] = []
    for position, index in enumerate(chosen):
        if position and index != chosen[position - 1] + 1:
            parts.append(GAP.strip())
        parts.append(sentences[index])
    return cut(" ".join(parts), target + target // 4)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` chars, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ""
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:") + "…"
