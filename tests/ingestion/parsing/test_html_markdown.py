"""HTML and Markdown parsing: structure kept, page furniture and scripts dropped."""

from __future__ import annotations

from chatbot_platform.ingestion.parsing import BlockKind, parse

PAGE = """<!DOCTYPE html>
<html lang="it"><head><meta charset="utf-8"><title>Anagrafe - Comune di Castelvecchio</title>
<script>var tracking = "SCRIPT_NELLA_TESTA";</script><style>.banner { color: red }</style></head>
<body>
<header><nav><a href="/">Home</a><a href="/servizi">Servizi</a></nav><p>Benvenuti nel portale</p></header>
<div id="cookie-banner" class="cc-banner">Questo sito usa i cookie. <button>Accetta</button></div>
<main><article>
  <header><h1 id="anagrafe">Anagrafe</h1></header>
  <p>L'ufficio <b>anagrafe</b> rilascia
     certificati di residenza.<br>Si accede su appuntamento.</p>
  <section id="orari"><h2>Orari</h2>
    <ul><li>Lunedì 9-12</li><li>Martedì<ul><li>solo su appuntamento</li></ul></li></ul>
    <table><thead><tr><th>Giorno</th><th>Orario</th></tr></thead>
      <tbody><tr><td>Lunedì</td><td>9-12</td></tr></tbody></table>
    <h3>Eccezioni</h3>Nei giorni festivi l'ufficio è chiuso.
    <pre><code>GET /api/orari
  ?ufficio=anagrafe</code></pre>
    <noscript>Attiva JavaScript</noscript>
    <script>document.write("SCRIPT_NEL_CORPO")</script>
  </section>
</article><aside>Notizie correlate</aside></main>
<footer>Copyright Comune di Castelvecchio</footer>
</body></html>"""


def _text(blocks) -> str:
    return "\n".join(block.text for block in blocks)


def test_html_script_content_never_reaches_the_text() -> None:
    text = _text(parse(PAGE.encode(), "anagrafe.html").blocks)

    assert "SCRIPT" not in text
    assert "tracking" not in text
    assert "color: red" not in text


def test_html_navigation_footer_aside_and_cookie_banner_are_dropped() -> None:
    text = _text(parse(PAGE.encode(), "anagrafe.html").blocks)

    for furniture in (
        "Home",
        "Benvenuti",
        "cookie",
        "Accetta",
        "Notizie correlate",
        "Copyright",
        "JavaScript",
    ):
        assert furniture not in text


def test_html_keeps_the_heading_hierarchy_with_anchors_from_ids() -> None:
    doc = parse(PAGE.encode(), "anagrafe.html")

    headings = [(b.text, b.level, b.anchor) for b in doc.blocks if b.kind is BlockKind.HEADING]
    assert headings == [("Anagrafe", 1, "anagrafe"), ("Orari", 2, "orari"), ("Eccezioni", 3, "orari")]
    assert doc.title == "Anagrafe - Comune di Castelvecchio"


def test_html_paragraphs_lists_tables_and_code_keep_their_shape() -> None:
    blocks = [(b.kind, b.text) for b in parse(PAGE.encode(), "anagrafe.html").blocks]

    assert blocks[1:] == [
        (
            BlockKind.PARAGRAPH,
            "L'ufficio anagrafe rilascia certificati di residenza.\nSi accede su appuntamento.",
        ),
        (BlockKind.HEADING, "Orari"),
        (BlockKind.LIST, "- Lunedì 9-12\n- Martedì\n  - solo su appuntamento"),
        (BlockKind.TABLE, "| Giorno | Orario |\n| --- | --- |\n| Lunedì | 9-12 |"),
        (BlockKind.HEADING, "Eccezioni"),
        (BlockKind.PARAGRAPH, "Nei giorni festivi l'ufficio è chiuso."),
        (BlockKind.CODE, "```\nGET /api/orari\n  ?ufficio=anagrafe\n```"),
    ]


def test_html_title_falls_back_to_the_first_h1() -> None:
    doc = parse(b"<html><body><h1>Tributi</h1><p>Tassa rifiuti.</p></body></html>", "tributi.html")

    assert doc.title == "Tributi"


def test_html_declared_legacy_charset_is_honoured() -> None:
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
    page += "<body><p>Perché la città è così “bella” \u2013 5 €</p></body></html>"

    doc = parse(page.encode("cp1252"), "vecchia.htm")

    assert doc.blocks[0].text == "Perché la città è così “bella” \u2013 5 €"


def test_html_is_recognised_by_its_content_whatever_the_name() -> None:
    doc = parse(b"<!doctype html><html><body><p>Ciao <script>x()</script>mondo</p></body></html>", "pagina")

    assert doc.mime_type == "text/html"
    assert doc.blocks[0].text == "Ciao mondo"


MARKDOWN = """---
title: Guida rapida
---
# Servizi

Testo **introduttivo** con [un link](https://example.org).

## Anagrafe

- Carta d'identità
- Residenza
  - entro venti giorni

| Servizio | Costo |
|---|---|
| Mensa | 4,50 € |

```python
print("ciao")
```

<div><script>alert("SCRIPT_IN_MARKDOWN")</script><p>Nota in HTML</p></div>
"""


def test_markdown_keeps_headings_lists_tables_and_code_fences() -> None:
    doc = parse(MARKDOWN.encode(), "guida.md")

    assert doc.title == "Guida rapida"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        (BlockKind.HEADING, 1, "Servizi"),
        (BlockKind.PARAGRAPH, 0, "Testo **introduttivo** con [un link](https://example.org)."),
        (BlockKind.HEADING, 2, "Anagrafe"),
        (BlockKind.LIST, 0, "- Carta d'identità\n- Residenza\n  - entro venti giorni"),
        (BlockKind.TABLE, 0, "| Servizio | Costo |\n| --- | --- |\n| Mensa | 4,50 € |"),
        (BlockKind.CODE, 0, '```python\nprint("ciao")\n```'),
        (BlockKind.PARAGRAPH, 0, "Nota in HTML"),
    ]


def test_markdown_title_falls_back_to_the_first_level_one_heading() -> None:
    assert parse(b"# Tributi\n\nTesto.", "tributi.md").title == "Tributi"


def test_markdown_inline_scripts_are_dropped() -> None:
    doc = parse(b"Prima <script>alert('SEGRETO')</script>dopo.\n", "nota.md")

    assert doc.blocks[0].text == "Prima dopo."
