"""Slack and Microsoft Teams alerts on errors and failed jobs (SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL).

A logging handler at ERROR turns log records into alerts. Alerts are rate-limited (one per kind of
problem per interval, and a ceiling per minute overall) and posted from a background thread, so a
slow webhook never slows a request and an error storm never floods the channel.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatbot_platform.kit.context import request_id_var, tenant_id_var
from chatbot_platform.settings import Settings

log = logging.getLogger(__name__)
FAILED_JOB_LOGGER = "chatbot_platform.ops.failed_jobs"
MAX_TEXT_CHARS = 1500


@dataclass(frozen=True)
class Alert:
    title: str
    text: str
    fingerprint: str
    fields: dict[str, str] = field(default_factory=dict)


def slack_payload(alert: Alert, app: str) -> dict[str, Any]:
    lines = [f"*{app}: {alert.title}*", alert.text, *(f"• {k}: {v}" for k, v in alert.fields.items())]
    return {"text": "\n".join(line for line in lines if line)}


def teams_payload(alert: Alert, app: str) -> dict[str, Any]:
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": f"{app}: {alert.title}",
        "themeColor": "D70000",
        "title": f"{app}: {alert.title}",
        "text": alert.text,
        "sections": [{"facts": [{"name": k, "value": v} for k, v in alert.fields.items()]}]
        if alert.fields
        else [],
    }


class RateLimiter:
    """At most one alert per fingerprint per `interval`, and at most `per_minute` in any minute."""

    def __init__(
        self, *, interval: float, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval, self.per_minute, self.clock = interval, per_minute, clock
        self._last: dict[str, float] = {}
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.suppressed = 0

    def allow(self, fingerprint: str) -> bool:
        with self._lock:
            now = self.clock()
            while self._sent and now - self._sent[0] >= 60:
                self._sent.popleft()
            last = self._last.get(fingerprint)
            if (last is not None and now - last < self.interval) or len(self._sent) >= self.per_minute:
                self.suppressed += 1
                return False
            self._last[fingerprint] = now
            self._sent.append(now)
            return True


class AlertSender:
    """Posts alerts to the configured webhooks from one background thread."""

    def __init__(
        self,
        *,
        slack_url: str | None,
        teams_url: str | None,
        app: str,
        interval: float = 300.0,
        per_minute: int = 10,
        timeout: float = 5.0,
    ) -> None:
        self.slack_url, self.teams_url, self.app = slack_url, teams_url, app
        self.limiter = RateLimiter(interval=interval, per_minute=per_minute)
        self.timeout = timeout
        self._queue: queue.Queue[Alert] = queue.Queue(maxsize=100)
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AlertSender | None:
        logging_ = settings.logging
        slack = logging_.slack_webhook_url.get_secret_value() if logging_.slack_webhook_url else None
        teams = logging_.teams_webhook_url.get_secret_value() if logging_.teams_webhook_url else None
        if not (slack or teams):
            return None
        return cls(
            slack_url=slack, teams_url=teams, app=f"{settings.app.name} ({settings.app.env})", **options
        )

    def send(self, alert: Alert) -> bool:
        """Queue an alert; False when the rate limit (or a full queue) drops it."""
        if not self.limiter.allow(alert.fingerprint):
            return False
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            return False
        return True

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until queued alerts are posted (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as http:
            while True:
                alert = self._queue.get()
                try:
                    self._post(http, alert)
                finally:
                    self._queue.task_done()

    def _post(self, http: httpx.Client, alert: Alert) -> None:
        targets = [
            (self.slack_url, slack_payload(alert, self.app)),
            (self.teams_url, teams_payload(alert, self.app)),
        ]
        for url, payload in targets:
            if url:
                try:
                    http.post(url, json=payload).raise_for_status()
                except httpx.HTTPError as exc:  # never log at error here: that would alert again
                    log.warning("alert webhook failed", extra={"error": type(exc).__name__})


def alert_from_record(record: logging.LogRecord) -> Alert:
    """A log record as an alert: failed jobs by queue and task, other errors by logger and message."""
    message = record.getMessage()
    fields = {
        k: str(v)
        for k, v in {
            "request_id": request_id_var.get(),
            "tenant_id": tenant_id_var.get(),
            "logger": record.name,
        }.items()
        if v
    }
    if record.name == FAILED_JOB_LOGGER:
        queue_name, task = getattr(record, "queue", "?"), getattr(record, "task", "?")
        fields |= {
            "queue": str(queue_name),
            "task": str(task),
            "attempts": str(getattr(record, "attempts", "?")),
        }
        reason = str(getattr(record, "reason", ""))[:MAX_TEXT_CHARS]
        return Alert(f"job failed: {task}", reason, f"job:{queue_name}:{task}", fields)
    text = message
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        text += f"\n{type(exc).__name__}: {str(exc)[:500]}"
    return Alert(f"error: {message[:120]}", text[:MAX_TEXT_CHARS], f"log:{record.name}:{record.msg}", fields)


class AlertHandler(logging.Handler):
    def __init__(self, sender: AlertSender) -> None:
        super().__init__(level=logging.ERROR)
        self.sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == __name__:
            return
        try:
            self.sender.send(alert_from_record(record))
        except Exception:  # a broken alert must never break the code that logged
            self.handleError(record)
