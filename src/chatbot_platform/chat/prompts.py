"""The messages sent to the chat model: instructions (the tenant's system prompt and persona, the
citation, "I don't know" and language rules), the recent conversation, then the numbered sources
and the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot_platform.chat.context import Source
from chatbot_platform.chat.language import Language
from chatbot_platform.chat.schemas import Turn

LANGUAGE_NAMES = {"it": "Italian", "en": "English"}
DONT_KNOW = {
    "it": "Non lo so con certezza: non trovo riferimenti sufficienti nella base di conoscenza.",
    "en": "I don't know for sure: I can't find enough references in the knowledge base.",
}
HISTORY_TURNS = 6  # earlier messages given to the model with the question
HISTORY_TURN_CHARS = 2000

DEFAULT_INTRO = (
    "You are the assistant of {tenant}. You answer questions using only the numbered sources "
    "given with each question, never your own knowledge."
)
RULES = """\
Rules:
- Use only facts stated in the sources. Do not invent names, numbers, dates, links or procedures.
- After each sentence that uses a source, cite it with its number in square brackets, e.g. [1] \
or [2][3]. Cite only the numbers of the sources given.
- If the sources do not answer the question, reply exactly: "{dont_know}"
- Answer in {language}, whatever the language of the sources.
- Keep tables and lists as Markdown when they help."""
JSON_RULE = "- Reply with a single JSON object and nothing else; put the citation markers inside its strings."

_MARKERS = re.compile(r"\s?\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def dont_know_message(messages: dict[str, object], language: Language) -> str:
    """The tenant's message in `language`, else the platform's."""
    custom = messages.get(language)
    return custom if isinstance(custom, str) and custom.strip() else DONT_KNOW.get(language, DONT_KNOW["en"])


def instructions(
    *,
    tenant: str,
    language: Language,
    dont_know: str,
    system_prompt: str | None,
    persona: str | None,
    caller_instructions: Sequence[str],
    json: bool,
) -> str:
    parts = [system_prompt.strip() if system_prompt else DEFAULT_INTRO.format(tenant=tenant)]
    if persona:
        parts.append(f"Persona: {persona.strip()}")
    rules = RULES.format(dont_know=dont_know, language=LANGUAGE_NAMES.get(language, "English"))
    parts.append(rules + ("\n" + JSON_RULE if json else ""))
    if caller_instructions:
        parts.append("Instructions from the application:\n" + "\n".join(caller_instructions))
    return "\n\n".join(parts)


def history_messages(history: Sequence[Turn]) -> list[dict[str, str]]:
    """The recent turns, shortened, without the markers of earlier answers (their sources are gone)."""
    turns = [t for t in history if t.role in {"user", "assistant"} and t.content.strip()]
    return [
        {"role": t.role, "content": _MARKERS.sub("", t.content)[:HISTORY_TURN_CHARS]}
        for t in turns[-HISTORY_TURNS:]
    ]


def question_message(question: str, sources: Sequence[Source]) -> str:
    blocks = "\n\n".join(source.block() for source in sources)
    return f"Sources:\n\n{blocks}\n\nQuestion: {question}"


def build_messages(
    system: str, history: Sequence[Turn], question: str, sources: Sequence[Source]
) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system},
        *history_messages(history),
        {"role": "user", "content": question_message(question, sources)},
    ]
