"""The answer without a chat model: the best passages, quoted with their markers, introduced by a
sentence that says plainly that the answer is extractive."""

from __future__ import annotations

from collections.abc import Sequence

from chatbot_platform.chat.context import Source, compress
from chatbot_platform.chat.language import Language

INTRO = {
    "it": "Risposta estrattiva (nessun modello linguistico è configurato): ecco i passaggi più pertinenti "
    "della base di conoscenza.",
    "en": "Extractive answer (no language model is configured): here are the most relevant passages "
    "of the knowledge base.",
}
PASSAGES = 3
PASSAGE_CHARS = 400


def extractive_answer(sources: Sequence[Source], question: str, language: Language) -> str:
    lines = [INTRO.get(language, INTRO["en"]), ""]
    for source in sources[:PASSAGES]:
        excerpt = compress(source.text, question, PASSAGE_CHARS, keep=source.result.text)
        lines.append(f"- **{source.result.title}**: {excerpt} [{source.number}]")
    return "\n".join(lines)


def pieces(text: str, size: int = 32) -> list[str]:
    """`text` in pieces of about `size` characters ending at spaces, for streaming an answer made
    all at once (joined, they give `text` back)."""
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            space = text.find(" ", end)
            end = len(text) if space == -1 else space + 1
        out.append(text[start:end])
        start = end
    return out
