"""Steady mixed load on loopback: chat (fake upstream), search, uploads and widget sessions at a fixed
rate for a few minutes against `cbp serve` (in-process workers, embedded PostgreSQL, offline
embedder). Reports throughput, latency percentiles per kind, errors, the server's memory over time and
queue lag (upload accepted -> document indexed), and writes the "load" section of docs/reliability.md.

    python bench/load.py                      # 180 s at 6 requests/s
    python bench/load.py --seconds 60 --rate 4
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import machine, revision  # noqa: E402
from bench.chat import QUESTIONS, upstream  # noqa: E402
from bench.ingest import ADMIN as ADMIN_TOKEN  # noqa: E402
from bench.ingest import platform_server  # noqa: E402

REPORT = ROOT / "docs" / "reliability.md"
ORIGIN = "http://shop.example"
ADMIN = {"X-Admin-Token": ADMIN_TOKEN}
MIX = (("chat", 0.45), ("search", 0.25), ("upload", 0.10), ("widget", 0.20))
CORPUS = {
    "Carta d'identità": "La carta d'identità elettronica si richiede in anagrafe e costa 22 euro.",
    "TARI": "La TARI si paga in due rate, a maggio e a novembre, con il modello F24.",
    "Raccolta": "La carta si espone il lunedì, la plastica il mercoledì, l'umido il martedì.",
    "Biblioteca": "Il prestito dura trenta giorni ed è gratuito per i residenti.",
    "Passport": "To renew a passport, book an appointment and bring two photographs.",
}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    queue_lag: list[float] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)


@dataclass
class Tenant:
    headers: dict[str, str]
    slug: str
    kb_id: str
    widget_key: str


async def set_up(http: httpx.AsyncClient) -> Tenant:
    tenant = (
        await http.post("/api/v1/tenants", json={"name": "Load", "default_language": "it"}, headers=ADMIN)
    ).json()
    key = (
        await http.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json={"name": "l"}, headers=ADMIN)
    ).json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    documents = [
        {"knowledge_base_id": tenant["default_knowledge_base_id"], "title": t, "text": text}
        for t, text in CORPUS.items()
    ]
    await http.post("/api/v1/documents/batch", json={"documents": documents}, headers=headers)
    await http.patch("/api/v1/widget/config", json={"allowed_origins": [ORIGIN]}, headers=headers)
    widget_key = (await http.post("/api/v1/widget/keys", json={"name": "s"}, headers=headers)).json()["key"]
    for _ in range(600):
        page = await http.get("/api/v1/documents", params={"status": "indexed", "limit": 1}, headers=headers)
        if page.json()["total"] == len(CORPUS):
            break
        await asyncio.sleep(0.2)
    return Tenant(headers, tenant["slug"], tenant["default_knowledge_base_id"], widget_key)


async def chat(http: httpx.AsyncClient, t: Tenant, n: int) -> None:
    body = {"model": "default", "messages": [{"role": "user", "content": QUESTIONS[n % len(QUESTIONS)]}]}
    response = await http.post("/v1/chat/completions", json=body, headers=t.headers)
    if response.status_code != 200:
        raise RuntimeError(f"chat HTTP {response.status_code}")


async def search(http: httpx.AsyncClient, t: Tenant, n: int) -> None:
    query = {"query": QUESTIONS[n % len(QUESTIONS)] + (f" {n}" if n % 2 else "")}  # half cached, half not
    response = await http.post("/api/v1/retrieval/search", json=query, headers=t.headers)
    if response.status_code != 200:
        raise RuntimeError(f"search HTTP {response.status_code}")


async def upload(http: httpx.AsyncClient, t: Tenant, n: int, results: Results) -> None:
    text = f"Avviso numero {n}: lo sportello {n} apre alle {8 + n % 4} e chiude alle {17 + n % 3}. " * 8
    files = {"file": (f"avviso-{n}.txt", text.encode(), "text/plain")}
    response = await http.post(
        "/api/v1/documents", files=files, data={"knowledge_base_id": t.kb_id}, headers=t.headers
    )
    if response.status_code not in (201, 202):
        raise RuntimeError(f"upload HTTP {response.status_code}")
    accepted, document_id = time.perf_counter(), response.json()["id"]
    asyncio.get_running_loop().create_task(watch_indexing(http, t, document_id, accepted, results))


async def watch_indexing(
    http: httpx.AsyncClient, t: Tenant, doc: str, accepted: float, results: Results
) -> None:
    while time.perf_counter() - accepted < 300:
        status = (await http.get(f"/api/v1/documents/{doc}", headers=t.headers)).json()["status"]
        if status == "indexed":
            results.queue_lag.append(time.perf_counter() - accepted)
            return
        if status == "failed":
            results.errors["upload"].append("document failed")
            return
        await asyncio.sleep(0.25)
    results.errors["upload"].append("not indexed within 300 s")


async def widget(http: httpx.AsyncClient, t: Tenant, n: int) -> None:
    started = await http.post(
        f"/api/v1/widget/{t.slug}/sessions", json={"key": t.widget_key}, headers={"Origin": ORIGIN}
    )
    if started.status_code != 201:
        raise RuntimeError(f"widget session HTTP {started.status_code}")
    headers = {"Origin": ORIGIN, "Authorization": f"Bearer {started.json()['token']}"}
    message = {"message": QUESTIONS[n % len(QUESTIONS)]}
    async with http.stream(
        "POST", f"/api/v1/widget/{t.slug}/chat", json=message, headers=headers
    ) as response:
        if response.status_code != 200:
            raise RuntimeError(f"widget chat HTTP {response.status_code}")
        async for _ in response.aiter_lines():
            pass


async def one(http: httpx.AsyncClient, t: Tenant, kind: str, n: int, results: Results) -> None:
    started = time.perf_counter()
    try:
        if kind == "chat":
            await chat(http, t, n)
        elif kind == "search":
            await search(http, t, n)
        elif kind == "upload":
            await upload(http, t, n, results)
        else:
            await widget(http, t, n)
    except Exception as exc:  # every failure is a figure of the report
        results.errors[kind].append(f"{type(exc).__name__}: {exc}"[:200])
        return
    results.latencies[kind].append(time.perf_counter() - started)


def server_process(port: int) -> psutil.Process:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return psutil.Process(conn.pid)
    raise RuntimeError("the server process was not found")


async def sample_memory(process: psutil.Process, results: Results, start: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        results.rss.append((time.monotonic() - start, process.memory_info().rss / 2**20))
        await asyncio.sleep(5)


async def drive(base: str, seconds: float, rate: float) -> tuple[Results, float]:
    results = Results()
    port = int(base.rsplit(":", 1)[1])
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        t = await set_up(http)
        process = server_process(port)
        kinds, weights = zip(*MIX, strict=True)
        rng = random.Random(7)  # noqa: S311 - a reproducible mix, not security
        start, stop = time.monotonic(), asyncio.Event()
        sampler = asyncio.create_task(sample_memory(process, results, start, stop))
        tasks: list[asyncio.Task[None]] = []
        for n in itertools.count():
            due = start + n / rate  # open loop: requests leave on schedule whether or not others finished
            if due - start >= seconds:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one(http, t, rng.choices(kinds, weights)[0], n, results)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
        for _ in range(1200):  # let the last uploads finish indexing
            if len(results.queue_lag) + len(results.errors["upload"]) >= len(results.latencies["upload"]):
                break
            await asyncio.sleep(0.25)
        stop.set()
        await sampler
    return results, elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def report(results: Results, elapsed: float, rate: float, seconds: float) -> str:
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(len(v) for v in results.errors.values())
    lines = [
        f"Offered load: {rate:g} requests/s for {seconds:g} s (mix: "
        + ", ".join(f"{k} {w:.0%}" for k, w in MIX)
        + "); the fake upstream answers in about 0.2 s.",
        "",
        f"- Completed: {total} requests in {elapsed:.0f} s ({total / elapsed:.1f}/s); errors: {errors}",
        "",
        "| kind | requests | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, _ in MIX:
        values = results.latencies[kind]
        lines.append(
            f"| {kind} | {len(values)} | {len(results.errors[kind])} | {pct(values, 0.5):.0f} | "
            f"{pct(values, 0.95):.0f} | {pct(values, 0.99):.0f} |"
        )
    lag = results.queue_lag
    lines += [
        "",
        f"- Queue lag (upload accepted -> indexed): p50 {pct(lag, 0.5):.0f} ms, p95 {pct(lag, 0.95):.0f} ms, "
        f"max {max(lag, default=0) * 1000:.0f} ms over {len(lag)} uploads",
    ]
    if results.rss:
        warm = [m for s, m in results.rss if s >= 30] or [m for _, m in results.rss]
        first, last = warm[0], statistics.mean(warm[-3:])
        lines.append(
            f"- Server RSS: {results.rss[0][1]:.0f} MiB at start, {first:.0f} MiB after 30 s of warm-up, "
            f"{last:.0f} MiB at the end ({last - first:+.0f} MiB after warm-up); samples every 5 s: "
            + ", ".join(f"{m:.0f}" for _, m in results.rss)
        )
    for kind, messages in results.errors.items():
        if messages:
            lines.append(f"- {kind} errors (first 3): " + "; ".join(messages[:3]))
    return "\n".join(lines)


def write_reliability_section(body: str) -> None:
    command = "python " + " ".join(["bench/load.py", *sys.argv[1:]])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        "<!-- load -->\n"
        f"- Machine: {machine()}\n- Date: {stamp} (commit {revision()})\n- Command: `{command}`\n\n"
        f"{body.strip()}\n<!-- /load -->"
    )
    text = REPORT.read_text()
    pattern = re.compile(r"<!-- load -->.*?<!-- /load -->", re.S)
    REPORT.write_text(
        pattern.sub(lambda _: section, text) if pattern.search(text) else text + "\n" + section + "\n"
    )
    print(f"wrote the load section of {REPORT.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--rate", type=float, default=6)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--openai-budget", action="store_true", help="keep the default OPENAI_MAX_*_PER_MINUTE budget"
    )
    args = parser.parse_args()
    with upstream(0.2) as upstream_url:
        env = {"OPENAI_API_BASE_URL": upstream_url, "OPENAI_API_KEY": "sk-load"}
        env |= {
            "THROTTLE_CHAT_REQUESTS": "100000",
            "WIDGET_RATE_LIMIT": "100000",
            "THROTTLE_API_REQUESTS": "100000",
        }
        if not args.openai_budget:  # the fake upstream has no limits: measure the platform, not the budget
            env |= {"OPENAI_MAX_TOKENS_PER_MINUTE": "100000000", "OPENAI_MAX_REQUESTS_PER_MINUTE": "1000000"}
        with platform_server(env) as base:
            results, elapsed = asyncio.run(drive(base, args.seconds, args.rate))
    body = report(results, elapsed, args.rate, args.seconds)
    print(body)
    if not args.no_write:
        write_reliability_section(body)


if __name__ == "__main__":
    main()
