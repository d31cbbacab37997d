"""Every text of the admin UI exists in Italian and English."""

from __future__ import annotations

import re
from pathlib import Path

from chatbot_platform.admin.i18n import MESSAGES, translate
from chatbot_platform.admin.pages.scraper import COUNTERS
from chatbot_platform.admin.pages.widget import COLOURS
from chatbot_platform.models import DocumentStatus, Role, ScraperRunStatus

SOURCE = Path(__file__).resolve().parents[2] / "src" / "chatbot_platform" / "admin"
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[a-z0-9_.]+)['"]""")
TRANSLATE_CALL = re.compile(r"""translate\([^,]+,\s*['"]([a-z_]+\.[a-z0-9_.]+)['"]""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*SOURCE.rglob("*.html"), *SOURCE.rglob("*.py")]:
        text = path.read_text()
        keys |= set(LITERAL_KEY.findall(text)) | set(TRANSLATE_CALL.findall(text))
    keys = {k for k in keys if not k.endswith(".")}  # prefixes of the computed keys below
    keys |= {f"role.{r.value}" for r in Role} | {f"status.{s.value}" for s in DocumentStatus}
    keys |= {f"scraper.status.{s.value}" for s in ScraperRunStatus} | {
        f"scraper.counter.{c}" for c in COUNTERS
    }
    keys |= {f"widget.{c}" for c in COLOURS} | {
        f"widget.position.{p}" for p in ("bottom-right", "bottom-left")
    }
    return keys


def test_every_key_used_by_the_pages_has_both_languages() -> None:
    keys = used_keys()
    assert len(keys) > 100
    assert sorted(keys - set(MESSAGES)) == []
    assert [k for k, (it, en) in MESSAGES.items() if not it.strip() or not en.strip()] == []


def test_texts_fall_back_to_english_then_to_the_key() -> None:
    assert translate("it", "nav.documents") == "Documenti"
    assert translate("en", "nav.documents") == "Documents"
    assert translate("de", "nav.documents") == "Documents"
    assert translate("it", "no.such.key") == "no.such.key"
