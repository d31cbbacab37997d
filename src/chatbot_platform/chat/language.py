"""The language of a question (Italian or English), so that the answer can follow it."""

from __future__ import annotations

import re

Language = str  # "it" or "en"

_WORD = re.compile(r"[a-zàèéìíòóùú]+")
_ITALIAN = frozenset(
    """il lo la i gli le un una uno di del della dello dei degli delle da dal dalla in nel nella con su
    sul sulla per tra fra che chi cosa come quando dove perché perche quanto quanti quanta quale quali
    è e ed non sono sei siamo ho hai ha abbiamo posso puoi può si ci mi ti vi ne al alla allo ai agli
    alle anche ma o oppure se sì grazie buongiorno ciao orari orario costa serve servono devo bisogna
    quanto qual""".split()
)
_ENGLISH = frozenset(
    """the a an of to in on at for from with by about is are was were be been do does did can could
    will would should what which who whom whose when where why how much many i you he she it we they
    my your our their this that these those there and or but not no yes please thanks hello hi open
    opening hours cost costs need have has""".split()
)


def detect(text: str, default: Language) -> Language:
    """`it` or `en` by function words; `default` when the text does not say (short, mixed, other)."""
    words = _WORD.findall(text.lower().replace("'", " ").replace("\u2019", " "))
    italian = sum(w in _ITALIAN for w in words) + sum(ch in "àèéìòù" for ch in text.lower())
    english = sum(w in _ENGLISH for w in words)
    if italian > english:
        return "it"
    if english > italian:
        return "en"
    return default if default in {"it", "en"} else "en"
