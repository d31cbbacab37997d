"""Recognising a visitor who asks for a human ("parlare con un operatore", "talk to a human")."""

from __future__ import annotations

import re
import unicodedata

_PATTERNS = [
    # Italian
    r"\b(parlare|parlo|chattare|scrivere|contattare|passami|passarmi|mettermi in contatto)\b.{0,30}"
    r"\b(operatore|operatrice|persona|umano|essere umano|addetto|addetta|consulente|agente)\b",
    r"\b(voglio|vorrei|posso avere|chiedo)\b.{0,20}"
    r"\b(un|una|l'|un')?\s*(operatore|operatrice|persona reale|umano)\b",
    r"\b(operatore|assistenza) uman[oa]\b",
    r"\bpersona (vera|reale)\b",
    # English
    r"\b(talk|speak|chat|connect me|put me through)\b.{0,20}\b(to|with)\b.{0,15}"
    r"\b(human|person|agent|operator|someone|somebody|representative|staff)\b",
    r"\b(real|live|human) (person|agent|operator|human|support)\b",
    r"\b(want|need|get me)\b.{0,10}\b(a|an)?\s*(human|operator|agent)\b",
]
_INTENT = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).lower().split())


def wants_human(text: str) -> bool:
    return bool(_INTENT.search(_normal(text)))
