"""Query rewriting before the legs: the tenant's synonyms (and, with an LLM, follow-up rewrites)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence


def expand_synonyms(query: str, synonyms: Mapping[str, Sequence[str]]) -> str:
    """The query with the synonyms of every term it contains appended (whole words, any case),
    for the full-text leg: BM25 ORs terms, so a synonym widens the match without a penalty."""
    if not synonyms:
        return query
    added: list[str] = []
    lowered = query.lower()
    for term, alternatives in synonyms.items():
        if re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", lowered):
            added.extend(a for a in alternatives if a.lower() not in lowered and a not in added)
    return f"{query} {' '.join(added)}" if added else query
