"""No secret reaches the logs: real traffic (provisioning with the admin token, an API key issued and
used, chat upstream with an OpenAI key, an admin login, a widget session, failing requests) runs with
every logger at DEBUG into the JSON log stream, and no secret's value appears in any line."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.kit.logging import configure_logging
from tests.admin.helpers import Account, log_in, make_platform_admin
from tests.factories import make_tenant
from tests.fixtures.database import ADMIN_TOKEN, make_settings
from tests.fixtures.fake_openai import FakeOpenAI

OPENAI_KEY = "sk-upstream-secret-" + "q7w8e9" * 4
SMTP_PASSWORD = "smtp-secret-" + "m4n5b6" * 4
APP_KEY = "base64:" + base64.b64encode(b"app-key-secret-material-32bytes!").decode()
WRONG_PASSWORD = "wrong-password-" + "z0x9c8" * 3
ORIGIN = "https://shop.example.com"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


@pytest.fixture
async def platform(
    tmp_path: Path, database_url: str, fake_openai: FakeOpenAI, captured_logs: io.StringIO
) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        tmp_path / "storage",
        database_url,
        OPENAI_API_BASE_URL=fake_openai.base_url,
        OPENAI_API_KEY=OPENAI_KEY,
        MAIL_MAILER="smtp",
        MAIL_USERNAME="mailer",
        MAIL_PASSWORD=SMTP_PASSWORD,
        APP_KEY=APP_KEY,
        LOG_LEVEL="debug",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_no_secret_value_appears_in_any_log_line(
    platform: FastAPI, fake_openai: FakeOpenAI, captured_logs: io.StringIO
) -> None:
    transport = httpx.ASGITransport(app=platform)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        tenant = await make_tenant(http)
        secrets = {"admin token": ADMIN_TOKEN, "API key": tenant.key, "OpenAI key": OPENAI_KEY}
        secrets |= {"SMTP password": SMTP_PASSWORD, "APP_KEY": APP_KEY, "APP_KEY bytes": APP_KEY[7:]}
        secrets["API key secret"] = tenant.key.rsplit("_", 1)[-1]

        # The key at work: reads, a chat answered upstream, a chat failing upstream.
        assert (await http.get("/api/v1/me", headers=tenant.headers)).status_code == 200
        ask = {"model": "default", "messages": [{"role": "user", "content": "Ciao?"}]}
        answered = await http.post("/v1/chat/completions", json=ask, headers=tenant.headers)
        assert answered.status_code == 200, answered.text
        assert fake_openai.requests_to("/v1/embeddings"), "the chat went upstream with the key"
        fake_openai.fail_next(3, status=500)
        ask["messages"] = [{"role": "user", "content": "Un'altra domanda?"}]
        failed = await http.post("/v1/chat/completions", json=ask, headers=tenant.headers)
        assert failed.status_code == 200, failed.text  # degraded to keywords; the failure is logged
        assert "EmbeddingError" in captured_logs.getvalue()

        # Refusals that carry would-be secrets.
        wrong_key = tenant.key[:-4] + "abcd"
        assert (
            await http.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong_key}"})
        ).status_code == 401
        refused = await http.get("/api/v1/tenants", headers={"X-Admin-Token": ADMIN_TOKEN + "x"})
        assert refused.status_code == 401
        secrets |= {"wrong key": wrong_key, "wrong admin token": ADMIN_TOKEN + "x"}

        # A widget session, used.
        issued = await http.post("/api/v1/widget/keys", json={"name": "site"}, headers=tenant.headers)
        assert issued.status_code == 201, issued.text
        configured = await http.patch(
            "/api/v1/widget/config", json={"allowed_origins": [ORIGIN]}, headers=tenant.headers
        )
        assert configured.status_code == 200, configured.text
        started = await http.post(
            f"/api/v1/widget/{tenant.slug}/sessions",
            json={"key": issued.json()["key"]},
            headers={"Origin": ORIGIN},
        )
        assert started.status_code == 201, started.text
        secrets["widget token"] = started.json()["token"]
        visitor = {"Origin": ORIGIN, "Authorization": f"Bearer {secrets['widget token']}"}
        history = await http.get(f"/api/v1/widget/{tenant.slug}/conversation", headers=visitor)
        assert history.status_code == 200, history.text

    # An admin UI login (a failed one first), with its session cookie used.
    account = await make_platform_admin(platform)
    secrets |= {"password": account.password, "wrong password": WRONG_PASSWORD}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        await web.get("/admin/login")
        await web.post("/admin/login", data={"email": account.email, "password": WRONG_PASSWORD})
        await log_in(web, Account(account.email))
        assert (await web.get("/admin/")).status_code == 200
        for name, value in web.cookies.items():
            if len(value) >= 16:
                secrets[f"cookie {name}"] = value
        assert any(name.startswith("cookie") for name in secrets), "the session cookie is checked"

    text = captured_logs.getvalue()
    lines = text.splitlines()
    assert len(lines) >= 20, "the traffic was logged"
    assert tenant.id in text, "the lines are the app's own"
    leaked = {name for name, value in secrets.items() if value in text}
    assert not leaked, f"secrets in the logs: {sorted(leaked)}"
