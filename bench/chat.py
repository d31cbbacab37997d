"""Streamed chat completions through the OpenAI-compatible API: the platform's added time to first
token, and errors with many streams held open.

The upstream model is the tests' fake OpenAI-compatible server in a process of its own: it answers
every chat completion after a fixed delay (`--delay`, 1 s) and then streams its answer a word every
50 ms; embeddings come back at once. `cbp serve` (one process, embedded PostgreSQL, the defaults
otherwise) points at it, with the chat throttle and the OpenAI budget raised out of the way. A tenant
gets the tests' small Italian and English corpora.

For 1, 10 and 50 concurrent clients, each client sends streamed requests one after another (20-word
answers); the clients start evenly spread over one request's length (about 2 s), as a load tool
ramps up, and each client's first request warms up and is not counted, so the figures are those of
that many streams in flight at every moment. Every request has a question of its own (a numbered
suffix defeats the retrieval cache, so each request runs the whole pipeline: key check, throttle,
profile, query embedding, both search legs, reranking, neighbours, prompt, the model, the usage
record). Time to first token is from
sending the request to receiving the first piece of content; the platform's added time is that
minus the upstream's own (its delay plus one word delay). The same clients against the upstream
directly give its measured time to first token on this machine for comparison. Then 50 clients
ask the same ten questions over and over (retrieval answers from its cache, as for a site's
frequent questions). Then 50 requests are sent at the same instant (a burst: the last of them
waits for the pipeline of all the others). Last, 200 streams are opened at once and held
(100-word answers, about 5 s each): any non-200, error event or stream without `[DONE]` is an error.

    python bench/chat.py                 # about 3 minutes on 2 cores
    python bench/chat.py --no-write      # print only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import write_section  # noqa: E402
from bench.ingest import ADMIN, platform_server  # noqa: E402

LEVELS = ((1, 30), (10, 150), (50, 500))  # (concurrent clients, requests measured)
HELD = 200
SHORT_WORDS, LONG_WORDS = 20, 100
WORD_DELAY = 0.05
QUESTIONS = [
    "Quanto costa la carta d'identità elettronica?",
    "Quando si paga la TARI?",
    "Quali giorni passa la raccolta della plastica?",
    "Quanto dura il prestito in biblioteca?",
    "Come ci si iscrive alla mensa scolastica?",
    "How do I renew my passport?",
    "How much is a resident parking permit?",
    "When is paper collected?",
    "Is the library open on Saturday?",
    "Servono fotografie per la carta d'identità?",
]


# -- the upstream, in its own process ---------------------------------------------------------------


def upstream_main(port_file: str, delay: float) -> None:
    from tests.fixtures.fake_openai import FakeOpenAI

    def reply(messages: list[dict[str, Any]]) -> str:
        words = LONG_WORDS if "[held]" in str(messages[-1].get("content", "")) else SHORT_WORDS
        return " ".join(f"parola{i}" for i in range(words - 1)) + " [1]."

    fake = FakeOpenAI(reply=reply, chat_delay=delay, chunk_delay=WORD_DELAY).start()
    Path(port_file).write_text(fake.base_url)
    stop = False

    def finish(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    while not stop:
        time.sleep(0.2)
    fake.stop()


@contextmanager
def upstream(delay: float) -> Iterator[str]:
    port_file = str(Path(tempfile.mkdtemp(prefix="cbp-bench-upstream-")) / "url")
    process = subprocess.Popen([sys.executable, __file__, "--upstream", port_file, str(delay)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or not Path(port_file).read_text():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the upstream did not start")
            time.sleep(0.05)
        yield Path(port_file).read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        Path(port_file).unlink(missing_ok=True)


# -- measuring --------------------------------------------------------------------------------------


@dataclass
class Sample:
    ttft: float | None  # seconds to the first piece of content
    error: str | None


async def one_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> Sample:
    started = time.perf_counter()
    first: float | None = None
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                return Sample(None, f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    return Sample(first, None)
                chunk = json.loads(data)
                if "error" in chunk:
                    return Sample(first, f"error event: {chunk['error'].get('code')}")
                choices = chunk.get("choices") or [{}]
                if first is None and choices[0].get("delta", {}).get("content"):
                    first = time.perf_counter() - started
    except httpx.HTTPError as exc:
        return Sample(first, type(exc).__name__)
    return Sample(first, "no [DONE]")


def body_for(n: int, *, held: bool = False, repeated: bool = False) -> dict[str, Any]:
    """Request `n`: a question of its own, or (`repeated`) one of the ten, as the cache would see it."""
    question = (
        QUESTIONS[n % len(QUESTIONS)] if repeated else f"{QUESTIONS[n % len(QUESTIONS)]} (richiesta {n})"
    )
    if held:
        question += " [held]"
    return {"model": "default", "messages": [{"role": "user", "content": question}], "stream": True}


async def run_level(
    base: str,
    headers: dict[str, str],
    clients: int,
    requests: int,
    start: int,
    *,
    ramp: float,
    repeated: bool = False,
) -> tuple[list[Sample], float]:
    """`clients` workers share `requests` measured requests. The clients start one after another,
    evenly over `ramp` seconds (one request's length), as a load tool ramps up, and each one's first
    request is a warm-up that is not counted: then the streams are in flight at every moment, not
    arriving in step (see `run_burst` for that)."""
    async with streams_client(base, clients) as client:
        url = "/chat/completions" if base.endswith("/v1") else "/v1/chat/completions"
        counter = iter(range(start + clients, start + clients + requests))
        samples: list[Sample] = []

        async def worker(i: int) -> None:
            await asyncio.sleep(i * ramp / clients)
            await one_stream(client, url, headers, body_for(start + i, repeated=repeated))
            for n in counter:
                samples.append(await one_stream(client, url, headers, body_for(n, repeated=repeated)))

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        return samples, time.perf_counter() - began - ramp


def streams_client(base: str, streams: int, timeout: float = 120) -> httpx.AsyncClient:
    """A client that keeps a connection for each of `streams` streams at once."""
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    return httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits)


async def all_at_once(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: list[dict[str, Any]]
) -> tuple[list[Sample], float]:
    """Every body sent at the same instant; the samples and the seconds until the last one ended."""
    began = time.perf_counter()
    samples = await asyncio.gather(*(one_stream(client, "/v1/chat/completions", headers, b) for b in bodies))
    return list(samples), time.perf_counter() - began


async def run_burst(
    base: str, headers: dict[str, str], clients: int, start: int
) -> tuple[list[Sample], float]:
    """`clients` requests sent at the same instant on warm connections: each gets the answer's
    pipeline only after the ones ahead of it, the worst case of arrivals in step."""
    async with streams_client(base, clients) as client:
        await all_at_once(client, headers, [body_for(start + i, repeated=True) for i in range(clients)])
        return await all_at_once(client, headers, [body_for(start + clients + i) for i in range(clients)])


async def run_held(base: str, headers: dict[str, str], start: int) -> tuple[list[Sample], float]:
    async with streams_client(base, HELD, timeout=180) as client:
        return await all_at_once(client, headers, [body_for(start + i, held=True) for i in range(HELD)])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def tenant_headers(base: str) -> dict[str, str]:
    from tests.retrieval.corpora import ENGLISH, ITALIAN

    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        admin = {"X-Admin-Token": ADMIN}
        tenant = (await client.post("/api/v1/tenants", json={"name": "Bench chat"}, headers=admin)).json()
        key = (
            await client.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "b"}, headers=admin)
        ).json()
        headers = {"Authorization": f"Bearer {key['key']}"}
        documents = [
            {
                "knowledge_base_id": tenant["default_knowledge_base_id"],
                "title": t,
                "text": x,
                "external_id": e,
            }
            for e, (t, x) in {**ITALIAN, **ENGLISH}.items()
        ]
        response = await client.post(
            "/api/v1/documents/batch", json={"documents": documents}, headers=headers
        )
        ids = [r["id"] for r in response.json()["results"]]
        for document_id in ids:
            await wait_indexed(client, document_id, headers)
        return headers


async def wait_indexed(client: httpx.AsyncClient, document_id: str, headers: dict[str, str]) -> None:
    for _ in range(600):
        status = (await client.get(f"/api/v1/documents/{document_id}", headers=headers)).json()["status"]
        if status == "indexed":
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"document {document_id} was not indexed in time")


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    requests: int
    errors: int
    upstream: tuple[float, float] | None
    platform: tuple[float, float]
    added: tuple[float, float]
    rate: float


def summarise(
    label: str, samples: list[Sample], seconds: float, delay: float, direct: list[Sample] | None
) -> Row:
    ttfts = [s.ttft for s in samples if s.ttft is not None and s.error is None]
    errors = sum(s.error is not None for s in samples)
    p50, p95 = percentile(ttfts, 0.5), percentile(ttfts, 0.95)
    upstream_ttfts = [s.ttft for s in direct or [] if s.ttft is not None]
    return Row(
        label=label,
        requests=len(samples),
        errors=errors,
        upstream=(percentile(upstream_ttfts, 0.5), percentile(upstream_ttfts, 0.95))
        if upstream_ttfts
        else None,
        platform=(p50, p95),
        # The fake sends its first word one word-delay after its headers.
        added=(p50 - delay - WORD_DELAY, p95 - delay - WORD_DELAY),
        rate=len(samples) / seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=1.0, help="the upstream's time to first token (s)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the request counts (quick checks)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--upstream", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        upstream_main(args.upstream[0], float(args.upstream[1]))
        return

    rows: list[Row] = []
    load = os.getloadavg()[0]
    with upstream(args.delay) as upstream_url:
        env = {
            "OPENAI_API_BASE_URL": upstream_url,
            "OPENAI_API_KEY": "bench",
            "OPENAI_MAX_REQUESTS_PER_MINUTE": "10000000",
            "OPENAI_MAX_TOKENS_PER_MINUTE": "10000000000",
            "THROTTLE_CHAT_REQUESTS": "10000000",
        }
        with platform_server(env) as base:
            headers = asyncio.run(tenant_headers(base))
            start = 0
            ramp = args.delay + SHORT_WORDS * WORD_DELAY  # one request's length
            for clients, requests in LEVELS:
                count = max(clients, round(requests * args.scale))
                direct, _ = asyncio.run(
                    run_level(upstream_url, {}, clients, min(count, 100), start, ramp=ramp)
                )
                samples, seconds = asyncio.run(
                    run_level(base, headers, clients, count, start + 10_000, ramp=ramp)
                )
                start += 100_000
                rows.append(summarise(f"{clients}", samples, seconds, args.delay, direct))
                print(_line(rows[-1]))
            clients, requests = LEVELS[-1]
            count = max(clients, round(requests * args.scale))
            samples, seconds = asyncio.run(
                run_level(base, headers, clients, count, start, ramp=ramp, repeated=True)
            )
            rows.append(
                summarise(
                    f"{clients}, repeated questions (cached retrieval)", samples, seconds, args.delay, None
                )
            )
            print(_line(rows[-1]))
            start += 100_000
            burst, seconds = asyncio.run(run_burst(base, headers, clients, start))
            rows.append(summarise(f"{clients} sent at the same instant", burst, seconds, args.delay, None))
            print(_line(rows[-1]))
            start += 100_000
            held, seconds = asyncio.run(run_held(base, headers, start))
            rows.append(summarise(f"{HELD} held open (~5 s each)", held, seconds, args.delay, None))
            print(_line(rows[-1]))
            errors = sorted({s.error for s in held if s.error})
            if errors:
                print("  errors:", errors)
    if not args.no_write:
        report(rows, args.delay, load)


def _line(row: Row) -> str:
    return (
        f"{row.label:>24} streams: {row.requests} requests, {row.errors} errors, "
        f"TTFT p50 {row.platform[0] * 1000:.0f} ms p95 {row.platform[1] * 1000:.0f} ms, "
        f"added p50 {row.added[0] * 1000:.0f} ms p95 {row.added[1] * 1000:.0f} ms, {row.rate:.1f} req/s"
    )


def report(rows: list[Row], delay: float, load: float) -> None:
    lines = [
        "| concurrent streams | requests | errors | upstream alone: TTFT p50 / p95 (ms) | "
        "through the platform: TTFT p50 / p95 (ms) | added p50 / p95 (ms) | requests/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        upstream_cell = f"{r.upstream[0] * 1000:.0f} / {r.upstream[1] * 1000:.0f}" if r.upstream else "-"
        lines.append(
            f"| {r.label} | {r.requests} | {r.errors} | {upstream_cell} | "
            f"{r.platform[0] * 1000:.0f} / {r.platform[1] * 1000:.0f} | "
            f"{r.added[0] * 1000:.0f} / {r.added[1] * 1000:.0f} | {r.rate:.1f} |"
        )
    body = (
        f"Upstream: the fake OpenAI-compatible server in its own process, first token after {delay:g} s, "
        f"then a word every {WORD_DELAY * 1000:.0f} ms ({SHORT_WORDS} words; {LONG_WORDS} for the held "
        "streams). The clients of a level start evenly over one request's length (about 2 s) and "
        "their first requests are warm-ups, not counted: the level's streams are in flight at every "
        "moment rather than arriving in step. Every request has a question of its own, so none is "
        "answered from the retrieval cache. Added = time to first token through the platform minus "
        "the upstream's own (its delay plus one word); the "
        "upstream-alone column is the same clients calling the fake server directly. The repeated-"
        "questions row asks the same ten questions over and over, so retrieval answers from its cache. "
        "The burst row sends 50 requests at the same instant, on warm connections. "
        f"Load average when the run started: {load:.1f} (other jobs shared the machine).\n\n"
        + "\n".join(lines)
        + "\n\nTargets (2 cores): p95 added time to first token ≤ 150 ms at 50 concurrent streams; "
        f"{HELD} concurrent streams held open with zero errors."
    )
    write_section("chat", "Chat completions: added time to first token (bench/chat.py)", body)


if __name__ == "__main__":
    main()
