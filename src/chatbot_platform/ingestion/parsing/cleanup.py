"""Text cleanup: whitespace, hyphenated line breaks, wrapped lines and page furniture."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

EDGE_LINES = 3  # lines at the top and at the bottom of a page where headers and footers live

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[^\W\d_])")
_LINE_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_PAGE_WORD = r"(?:pagina|pag\.?|page|p\.|pg\.?|seite|página)"
_FURNITURE = re.compile(
    r"^(?:"
    rf"{_PAGE_WORD}\s*\d{{1,4}}(?:\s*(?:di|of|de|von|su|/)\s*\d{{1,4}})?"
    r"|[-\u2013\u2014]\s*\d{1,4}\s*[-\u2013\u2014]"
    r"|\d{1,4}(?:\s*(?:/|di|of)\s*\d{1,4})?"
    r")$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+")


def normalize_whitespace(text: str) -> str:
    """Prose whitespace: one space between words, trimmed lines, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def normalize_code(text: str) -> str:
    """Code whitespace: indentation kept, trailing spaces and surrounding blank lines removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text)).expandtabs(4)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def dehyphenate(text: str) -> str:
    """Join words broken across lines: "infor-\\nmazione" -> "informazione" (lowercase continuations only)."""
    return _HYPHEN_BREAK.sub(_join_hyphen, text)


def join_wrapped_lines(lines: Sequence[str]) -> str:
    """One paragraph from the lines it was wrapped into, hyphenated breaks repaired."""
    text = dehyphenate("\n".join(line.strip() for line in lines if line.strip()))
    return _SPACES.sub(" ", _LINE_BREAK.sub(" ", text)).strip()


def is_page_furniture(line: str) -> bool:
    """True for page-number lines: "Pagina 3 di 12", "Page 3 of 12", "- 3 -", "3", "3/12"."""
    return bool(_FURNITURE.match(line.strip()))


def furniture_mask(
    pages: Sequence[Sequence[str]], positions: Sequence[Sequence[float | None]] | None = None
) -> list[list[bool]]:
    """Per page and line: True for page numbers and headers/footers repeated on most pages.

    With `positions` (each line's height on its page), a repeated line must also sit at the same
    height on those pages, as running headers and footers do.
    """
    keyed = [_positioned(lines, positions[i] if positions else None) for i, lines in enumerate(pages)]
    repeated = _repeated_edge_keys(keyed)
    mask: list[list[bool]] = []
    for number, (lines, keys) in enumerate(zip(pages, keyed, strict=True), 1):
        edges = _edge_indexes(len(lines))
        mask.append(
            [
                index in edges
                and (is_page_furniture(line) or not _edge_keys(keys[index], number).isdisjoint(repeated))
                for index, line in enumerate(lines)
            ]
        )
    return mask


def _positioned(lines: Sequence[str], heights: Sequence[float | None] | None) -> list[str]:
    if heights is None:
        return list(lines)
    return [f"{line} @{round(y)}" if y is not None else line for line, y in zip(lines, heights, strict=True)]


def _join_hyphen(match: re.Match[str]) -> str:
    following = match.string[match.end()]
    return "" if following.islower() else match.group(0)


def _edge_indexes(count: int) -> set[int]:
    return set(range(min(EDGE_LINES, count))) | set(range(max(count - EDGE_LINES, 0), count))


def _edge_keys(line: str, page_number: int) -> set[str]:
    # A header such as "Rapporto 2024 - pagina 7" changes with the page, so it is also compared with
    # the page number replaced; other numbers must match exactly ("Art. 3" is not furniture).
    key = " ".join(line.casefold().split())
    if not key:
        return set()
    numbered = _NUMBER.sub(lambda m: "#" if m.group(0) == str(page_number) else m.group(0), key)
    return {key, "p:" + numbered} if numbered != key else {key}


def _repeated_edge_keys(pages: Sequence[Sequence[str]]) -> set[str]:
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for number, lines in enumerate(pages, 1):
        keys: set[str] = set()
        for index in _edge_indexes(len(lines)):
            keys |= _edge_keys(lines[index], number)
        counts.update(keys)
    threshold = max(2, len(pages) // 2 + 1)
    return {key for key, count in counts.items() if count >= threshold}
