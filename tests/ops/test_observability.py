"""JSON logs with request and tenant ids, slow queries, Sentry (a local HTTP server as the DSN host),
and rate-limited Slack/Teams alerts on errors and failed jobs (a local HTTP server as the webhooks)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chatbot_platform.ops.alerts import Alert, AlertSender

ROOT = Path(__file__).resolve().parents[2]


class Hooks:
    """Records every POST: path and decoded body."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                hooks.received.append((self.path, body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, prefix: str) -> list[bytes]:
        return [body for path, body in self.received if path.startswith(prefix)]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.server.shutdown()


def test_a_served_process_logs_json_reports_to_sentry_and_alerts(
    tmp_path: Path, database_url: str, hooks: Hooks
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.ops.observed_process", str(tmp_path / "s"), database_url, hooks.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines
    assert len(lines) == len(result.stdout.splitlines()), "every stdout line is one JSON object"
    assert all({"ts", "level", "logger", "message", "request_id", "tenant_id"} <= set(line) for line in lines)
    assert not [line for line in lines if line["level"] == "debug"]

    me = next(line for line in lines if line["message"] == "request" and line["path"] == "/api/v1/me")
    assert me["request_id"] == "req-observed-0001"
    assert me["tenant_id"]
    assert me["status"] == 200
    admin = next(line for line in lines if line["message"] == "request" and line["path"] == "/api/v1/tenants")
    assert admin["tenant_id"] is None
    assert len(admin["request_id"]) == 32
    slow = next(line for line in lines if line["message"] == "slow query" and "pg_sleep" in line["statement"])
    assert slow["duration_ms"] >= 50
    failed = next(line for line in lines if line["message"] == "job failed")
    assert failed["task"] == "ops.always_fails"
    assert failed["tenant_id"] == me["tenant_id"]
    assert failed["request_id"].startswith("job:")
    assert "payment gateway" in result.stdout
    assert "sk-" not in result.stdout

    slack = [json.loads(body)["text"] for body in hooks.to("/slack")]
    teams = [json.loads(body) for body in hooks.to("/teams")]
    assert len([t for t in slack if "could not charge the tenant" in t]) == 1, (
        slack
    )  # three errors, one alert
    assert any(
        "job failed: ops.always_fails" in t and "the remote catalogue answered 500" in t for t in slack
    )
    assert {card["@type"] for card in teams} == {"MessageCard"}
    assert len(teams) == len(slack)

    envelopes = hooks.to("/api/42/envelope/")
    assert envelopes, "Sentry received the errors"
    events = b"\n".join(envelopes)
    assert b"payment gateway unreachable" in events
    assert b"RuntimeError" in events
    assert b'"environment":"testing"' in events.replace(b" ", b"")


def test_alerts_are_rate_limited_per_problem_and_per_minute(hooks: Hooks) -> None:
    sender = AlertSender(slack_url=f"{hooks.url}/slack", teams_url=None, app="cbp", interval=60, per_minute=3)
    sent = [sender.send(Alert("disk full", "no space left", "disk")) for _ in range(5)]
    assert sent == [True, False, False, False, False]
    others = [sender.send(Alert(f"error {n}", "boom", f"error-{n}")) for n in range(4)]
    assert others == [True, True, False, False]  # the ceiling: three alerts in any minute
    sender.flush()
    assert len(hooks.to("/slack")) == 3
    assert sender.limiter.suppressed == 6


def test_a_failing_webhook_never_raises(hooks: Hooks) -> None:
    sender = AlertSender(slack_url="http://127.0.0.1:9/nowhere", teams_url=f"{hooks.url}/teams", app="cbp")
    assert sender.send(Alert("x", "y", "z"))
    sender.flush()
    time.sleep(0.05)
    [card] = hooks.to("/teams")
    payload: dict[str, Any] = json.loads(card)
    assert payload["title"] == "cbp: x"
    assert payload["text"] == "y"
