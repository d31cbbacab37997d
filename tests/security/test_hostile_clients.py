"""Hostile clients against the platform served by Uvicorn: oversized bodies and headers, slowloris
connections, SSE clients that hang up mid-stream or never read, and Unicode edge cases (NUL bytes,
lone surrogates, right-to-left text, a 1 MB single line). Each gets a clear 4xx or a normal answer,
never a 5xx or a hang, and the server keeps serving others (no leaked database connections)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.chat.served import Platform, Platforms
from tests.factories import TenantWithKey
from tests.fixtures.fake_openai import FakeOpenAI
from tests.retrieval.corpora import ITALIAN, index_corpus

QUESTION = "Quanto costa la carta d'identità elettronica?"


@pytest.fixture
async def platform(tmp_path: Path, database_url: str) -> AsyncIterator[Platform]:
    platforms = Platforms(tmp_path, database_url)
    try:
        # A long stream, so that clients can leave in the middle of it.
        with FakeOpenAI(reply=lambda _messages: "Costa 22 euro [1]. " * 40, chunk_delay=0.02) as fake:
            yield await platforms.start(fake=fake, WIDGET_RATE_LIMIT="10000", UPLOAD_MAX_MB="5")
    finally:
        await platforms.aclose()


@pytest.fixture
async def tenant(platform: Platform) -> TenantWithKey:
    tenant = await platform.tenant(default_language="it")
    await index_corpus(platform.http, tenant, {"anagrafe": ITALIAN["anagrafe"]})
    return tenant


def chat(content: str, *, stream: bool = False) -> dict[str, object]:
    return {"model": "default", "messages": [{"role": "user", "content": content}], "stream": stream}


async def still_serving(platform: Platform) -> None:
    started = time.monotonic()
    assert (await platform.http.get("/up", timeout=5)).status_code == 200
    assert time.monotonic() - started < 5


async def test_oversized_bodies_and_headers_are_refused_cleanly(
    platform: Platform, tenant: TenantWithKey
) -> None:
    huge = chat("x" * 5_000_000)  # 5 MB of JSON in one message
    started = time.monotonic()
    response = await platform.http.post("/v1/chat/completions", json=huge, headers=tenant.headers, timeout=60)
    assert time.monotonic() - started < 10  # refused by validation, not tokenized and searched first
    assert 400 <= response.status_code < 500, response.text[:300]
    many_messages = {"model": "default", "messages": [{"role": "user", "content": "ciao"}] * 50_000}
    response = await platform.http.post("/v1/chat/completions", json=many_messages, headers=tenant.headers)
    assert 400 <= response.status_code < 500, response.text[:300]
    upload = await platform.http.post(
        "/api/v1/documents",
        files={"file": ("big.txt", b"parola " * 1_200_000, "text/plain")},  # 8.4 MB, over UPLOAD_MAX_MB=5
        data={"knowledge_base_id": tenant.default_kb_id},
        headers=tenant.headers,
        timeout=120,
    )
    assert upload.status_code in (413, 422), upload.text[:300]
    # A page offset beyond PostgreSQL's bigint: a 422, not an overflow in the driver (was a 500).
    huge_offset = await platform.http.get(
        "/api/v1/knowledge-bases", params={"offset": str(10**27)}, headers=tenant.headers
    )
    assert huge_offset.status_code == 422, huge_offset.text
    for extra in ({"X-Big": "a" * 100_000}, {f"X-H{i}": "v" for i in range(500)}):
        try:
            response = await platform.http.get("/api/v1/me", headers={**tenant.headers, **extra})
            assert response.status_code < 500, response.status_code
        except httpx.RemoteProtocolError:
            pass  # Uvicorn dropping the connection is a clean refusal too
    await still_serving(platform)


async def test_slowloris_connections_do_not_starve_other_clients(platform: Platform) -> None:
    address = urlsplit(platform.url)
    sockets: list[socket.socket] = []
    try:
        for _ in range(100):  # each sends a request line and one header, then nothing more
            sock = socket.create_connection((address.hostname, address.port), timeout=5)
            sock.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sockets.append(sock)
        for _ in range(3):
            for sock in sockets:
                sock.sendall(b"a")  # trickle a byte each round, never finishing the headers
            await still_serving(platform)
            await asyncio.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()
    await still_serving(platform)


async def test_sse_clients_that_hang_up_or_never_read_leave_nothing_behind(
    platform: Platform, tenant: TenantWithKey
) -> None:
    async def hang_up_after_first_chunk() -> None:
        async with platform.http.stream(
            "POST", "/v1/chat/completions", json=chat(QUESTION, stream=True), headers=tenant.headers
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    break  # leaving the block closes the connection mid-stream

    await asyncio.gather(*(hang_up_after_first_chunk() for _ in range(8)))
    address = urlsplit(platform.url)
    body = json.dumps(chat(QUESTION, stream=True)).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tenant.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    silent: list[socket.socket] = []
    for _ in range(4):  # these send a streaming request and never read a byte of the answer
        sock = socket.create_connection((address.hostname, address.port), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.sendall(request)
        silent.append(sock)
    try:
        answered = await platform.http.post(
            "/v1/chat/completions", json=chat(QUESTION), headers=tenant.headers
        )
        assert answered.status_code == 200, answered.text
    finally:
        for sock in silent:
            sock.close()
    for _ in range(100):  # every stream's database work is done and its connection returned
        if platform.checked_out_connections() == 0:
            break
        await asyncio.sleep(0.1)
    assert platform.checked_out_connections() == 0
    await still_serving(platform)


async def test_unicode_edge_cases_get_answers_or_clear_4xx(platform: Platform, tenant: TenantWithKey) -> None:
    h = {**tenant.headers, "Content-Type": "application/json"}
    raw_bodies = [
        '{"model": "default", "messages": [{"role": "user", "content": "ciao\\u0000mondo"}]}',
        '{"model": "default", "messages": [{"role": "user", "content": "\\ud800 solo"}]}',
        '{"model": "default", "conversation_id": "c-1",'
        ' "messages": [{"role": "user", "content": "\\ud800 x"}]}',
        '{"model": "default", "messages": [{"role": "user", "content": "\\udfff\\ud800"}]}',
        '{"model": "default\\u0000", "messages": [{"role": "user", "content": "ciao"}]}',
        '{"model": "default", "messages": [{"role": "user", "content": "كم تكلفة البطاقة؟ \\u202e\\u200f"}]}',
    ]
    for raw in raw_bodies:
        response = await platform.http.post("/v1/chat/completions", content=raw.encode(), headers=h)
        assert response.status_code < 500, (raw, response.text)
    for raw in (
        '{"query": "carta\\u0000identità"}',
        '{"query": "\\ud83d"}',
        '{"query": "\\u05e9\\u05dc\\u05d5\\u05dd \\u202b"}',
    ):
        response = await platform.http.post("/api/v1/retrieval/search", content=raw.encode(), headers=h)
        assert response.status_code < 500, (raw, response.text)
    # Documents: NUL bytes in titles, texts and metadata are refused or cleaned, never a 500.
    kb = tenant.default_kb_id
    for fields in (
        {"title": "Titolo\u0000", "text": "testo"},
        {"title": "Titolo", "text": "testo\u0000con nul"},
        {"title": "Titolo", "text": "testo", "metadata": {"k": "v\u0000"}},
        {"title": "\ufeff\u05e2\u05d1\u05e8\u05d9\u05ea RTL \u202e", "text": "مرحبا بالعالم"},
    ):
        response = await platform.http.post(
            "/api/v1/documents", json={"knowledge_base_id": kb, **fields}, headers=tenant.headers
        )
        assert response.status_code < 500, (fields, response.text)
    # A 1 MB single line of text: accepted, parsed and chunked without cutting a word.
    line = " ".join(f"parola{i % 50}" for i in range(150_000))[:1_000_000].rsplit(" ", 1)[0]
    created = await platform.http.post(
        "/api/v1/documents",
        files={"file": ("una-riga.txt", line.encode(), "text/plain")},
        data={"knowledge_base_id": kb},
        headers=tenant.headers,
        timeout=60,
    )
    assert created.status_code in (201, 202), created.text
    document_id = created.json()["id"]
    for _ in range(300):
        document = (
            await platform.http.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)
        ).json()
        if document["chunk_count"] > 0 or document["status"] == "failed":
            break
        await asyncio.sleep(0.1)
    assert document["status"] != "failed", document
    chunks = await platform.http.get(
        f"/api/v1/documents/{document_id}/chunks", params={"limit": 5}, headers=tenant.headers
    )
    assert chunks.status_code == 200, chunks.text
    items = chunks.json()["items"] if isinstance(chunks.json(), dict) else chunks.json()
    for chunk in items:
        for word in chunk["text"].split():
            assert word.startswith("parola"), word  # no word cut in two
            assert word[6:].isdigit(), word
    # Widget events with a NUL byte in their JSON data: a clear 400 (was a 500).
    await platform.http.patch(
        "/api/v1/widget/config", json={"allowed_origins": ["http://shop.example"]}, headers=tenant.headers
    )
    key = (
        await platform.http.post("/api/v1/widget/keys", json={"name": "s"}, headers=tenant.headers)
    ).json()["key"]
    origin = {"Origin": "http://shop.example"}
    session = await platform.http.post(
        f"/api/v1/widget/{tenant.slug}/sessions", json={"key": key}, headers=origin
    )
    visitor = {
        **origin,
        "Authorization": f"Bearer {session.json()['token']}",
        "Content-Type": "application/json",
    }
    event = await platform.http.post(
        f"/api/v1/widget/{tenant.slug}/events",
        content=b'{"events": [{"type": "open", "data": {"k": "a\\u0000b"}}]}',
        headers=visitor,
    )
    assert event.status_code == 400, event.text
    await still_serving(platform)
