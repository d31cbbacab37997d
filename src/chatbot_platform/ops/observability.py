"""What an entry point (`cbp serve`, `cbp worker`, `cbp scheduler`) sets up before anything else:
JSON logs, Sentry when a DSN is set, and Slack/Teams alerts when a webhook is set."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from fastapi import FastAPI

from chatbot_platform import __version__
from chatbot_platform.kit.logging import configure_logging
from chatbot_platform.ops.alerts import AlertHandler, AlertSender
from chatbot_platform.ops.metrics import MULTIPROC_ENV
from chatbot_platform.settings import Settings, load_settings

log = logging.getLogger(__name__)


def sentry_dsn(settings: Settings) -> str | None:
    secret = settings.logging.sentry_laravel_dsn or settings.logging.sentry_dsn
    return secret.get_secret_value() if secret else None


def setup_sentry(settings: Settings, **options: Any) -> bool:
    """Send errors (and sampled traces/profiles) to Sentry when SENTRY_LARAVEL_DSN or SENTRY_DSN is set."""
    dsn = sentry_dsn(settings)
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=settings.app.env,
        release=f"chatbot-platform@{__version__}",
        traces_sample_rate=settings.logging.sentry_traces_sample_rate,
        profiles_sample_rate=settings.logging.sentry_profiles_sample_rate,
        send_default_pii=False,
        **options,
    )
    return True


def setup_observability(settings: Settings, *, stream: Any = None) -> AlertSender | None:
    """Logs, Sentry and alerts for this process; returns the alert sender when one is configured."""
    configure_logging(settings.logging.level, stream)
    setup_sentry(settings)
    sender = AlertSender.from_settings(settings)
    if sender is not None:
        logging.getLogger().addHandler(AlertHandler(sender))
    return sender


def prepare_multiprocess_metrics(settings: Settings, workers: int, port: int) -> None:
    """Several Uvicorn workers share metrics through files: point PROMETHEUS_MULTIPROC_DIR at an empty
    folder of this server (one per port, so that a second server on the same data folder, as in a
    blue-green switch, leaves the first one's files alone) before the workers start. A folder the
    operator set is used as it is (the systemd unit gives each slot a fresh one at every start)."""
    if os.environ.get(MULTIPROC_ENV) or workers <= 1:
        return
    folder = settings.app.storage_path / "prometheus" / str(port)
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder.resolve())


def served_app() -> FastAPI:
    """The factory `cbp serve` gives Uvicorn: each worker process sets up its logging and Sentry first."""
    from chatbot_platform.app import create_app

    settings = load_settings()
    setup_observability(settings)
    return create_app(settings)
