"""Web safety: markup in a document's title and text is inert in the admin UI; upload filenames and
archive members cannot reach outside the storage folder; URL ingestion refuses private addresses."""

from __future__ import annotations

import asyncio
import io
import re
import stat
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.ingestion.parsing.zip import ZipParser
from chatbot_platform.kit.storage import LocalFileStore
from chatbot_platform.settings import Settings
from tests.admin.helpers import csrf_token, log_in, make_platform_admin
from tests.factories import TenantWithKey, make_tenant
from tests.retrieval.corpora import index_corpus

MARKER = "__xss_pwned"
HOSTILE = f'<script>window.{MARKER}=1</script><img src=x onerror="window.{MARKER}=2">'
ESCAPED = f"&lt;script&gt;window.{MARKER}=1&lt;/script&gt;"


async def wait_for_status(
    client: httpx.AsyncClient, tenant: TenantWithKey, document_id: str
) -> dict[str, Any]:
    for _ in range(600):
        document: dict[str, Any] = (
            await client.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)
        ).json()
        if document["status"] in {"indexed", "failed"}:
            return document
        await asyncio.sleep(0.1)
    raise AssertionError(f"document {document_id} never finished")


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def assert_inert(html: str, where: str) -> None:
    assert f"<script>window.{MARKER}" not in html, where
    assert f'<img src=x onerror="window.{MARKER}' not in html, where
    assert ESCAPED in html, f"{where} shows the markup as text"


async def test_markup_in_a_documents_title_and_text_is_inert_in_the_admin_ui(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client, slug="xss")
    corpus = {
        "hostile": (f"Orari {HOSTILE}", f"Biblioteca comunale orari di apertura. {HOSTILE} Aperta il sabato.")
    }
    ids = await index_corpus(client, tenant, corpus)
    document_id = ids["hostile"]
    account = await make_platform_admin(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await log_in(web, account)
        listing = await web.get("/admin/t/xss/documents")
        assert listing.status_code == 200
        assert_inert(listing.text, "document list")
        viewer = await web.get(f"/admin/t/xss/documents/{document_id}")
        assert viewer.status_code == 200
        assert_inert(viewer.text, "chunk viewer")
        token = await csrf_token(web, "/admin/t/xss/rag")
        tested = await web.post(
            "/admin/t/xss/rag", data={"query": "orari biblioteca", "target": "default", "csrf_token": token}
        )
        assert "Biblioteca comunale" in tested.text, "the RAG tester shows the retrieved chunk"
        assert_inert(tested.text, "RAG tester")


async def test_upload_filenames_never_leave_the_storage_folder(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    tenant = await make_tenant(client)
    before = files_under(tmp_path)
    names = ["../../etc/passwd", "/etc/passwd", "..\\..\\evil.txt", "../../../../tmp/evil.txt", "a\x00b.txt"]
    accepted = []
    for number, name in enumerate(names):
        response = await client.post(
            "/api/v1/documents",
            files={"file": (name, f"Documento numero {number} caricato con un nome ostile.".encode())},
            data={"knowledge_base_id": tenant.default_kb_id},
            headers=tenant.headers,
        )
        assert response.status_code in (202, 400, 422), (name, response.text)
        if response.status_code == 202:
            accepted.append(response.json()["id"])
    assert accepted, "hostile names are neutralised, not only refused"
    for document_id in accepted:
        assert (await wait_for_status(client, tenant, document_id))["status"] == "indexed"
    files_root = (settings.app.storage_path / "files").resolve()
    written = files_under(tmp_path) - before
    stored = [p for p in written if files_root in p.resolve().parents]
    assert len(stored) >= len(accepted)
    outside = [p for p in written if p not in stored and files_root.parent not in p.resolve().parents]
    assert not outside, outside
    assert all(".." not in p.relative_to(files_root).parts for p in stored)


@pytest.mark.parametrize("key", ["../escape.txt", "/etc/passwd", "a/../../b.txt", "a\x00b", ""])
async def test_the_file_store_refuses_keys_that_would_leave_its_folder(tmp_path: Path, key: str) -> None:
    store = LocalFileStore(tmp_path / "files")
    with pytest.raises(ValueError, match="unsafe storage key"):
        await store.put(key, b"x")
    assert not files_under(tmp_path)


def test_a_symlink_inside_a_zip_is_read_as_its_text_never_followed() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("docs/passwd-link.txt")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("docs/readme.txt", "Un documento vero accanto al collegamento.")
    parsed = ZipParser().parse(buffer.getvalue(), "links.zip")
    text = " ".join(block.text for block in parsed.blocks)
    assert "root:" not in text, "the link was not followed"
    assert "Un documento vero" in text


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the server's handler instances

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        body = b"<html><body><p>Pagina interna segreta.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits.clear()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_url_ingestion_refuses_loopback_and_metadata_addresses(
    client: httpx.AsyncClient, internal_site: str
) -> None:
    tenant = await make_tenant(client)
    port = internal_site.rsplit(":", 1)[1]
    urls = [
        f"http://{internal_site}/admin",
        f"http://localhost:{port}/admin",
        f"http://[::1]:{port}/admin",
        f"http://0.0.0.0:{port}/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
    ]
    for url in urls:
        response = await client.post(
            "/api/v1/documents",
            json={"knowledge_base_id": tenant.default_kb_id, "title": "interno", "url": url},
            headers=tenant.headers,
        )
        if response.status_code == 202:
            document = await wait_for_status(client, tenant, response.json()["id"])
            assert document["status"] == "failed", (url, document)
            assert document["error"], url
        else:
            assert 400 <= response.status_code < 500, (url, response.text)
    assert _Recorder.hits == [], "nothing reached the internal server"


WIDGET_SCRIPT = Path(__file__).resolve().parents[2] / "src/chatbot_platform/widget/static/widget.js"
HTML_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|srcdoc"
)


def test_the_widget_builds_answers_and_citations_as_text_never_parsed_html() -> None:
    """Citation titles and answers go through `el()` (text nodes); the script has no HTML sink, so
    markup in a document's title or an answer cannot execute (the browser test proves the answer)."""
    script = WIDGET_SCRIPT.read_text(encoding="utf-8")
    assert not HTML_SINKS.findall(script)
    assert "document.createTextNode(c)" in script
    assert 'list.appendChild(el("li"' in script, "citations are built with el()"
