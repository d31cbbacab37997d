"""`cbp down` / `cbp up` from another process: 503 with Retry-After for everyone but the bypass-secret
holders, shared through the database or Redis (APP_MAINTENANCE_DRIVER)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from chatbot_platform.ops.maintenance import BYPASS_COOKIE
from tests.fixtures.cli import cbp
from tests.ops.apps import app_with, cbp_here

SECRET = "let-me-in-1234"


async def _until(client: httpx.AsyncClient, path: str, status: int) -> httpx.Response:
    """Each process re-reads the shared state once a second: wait for it to see the change."""
    for _ in range(40):
        response = await client.get(path)
        if response.status_code == status:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never answered {status}")


async def test_down_and_up_through_the_database(
    tmp_path: Path, database_url: str, env: dict[str, str]
) -> None:
    async with app_with(tmp_path, database_url, APP_LOCALE="it") as (_, client):
        assert (await client.get("/up")).status_code == 200
        down = cbp("down", "--secret", SECRET, "--retry", "60", "--refresh", "15", env=env)
        assert "(database)" in down.stdout
        assert f"/{SECRET}" in down.stdout

        api = await _until(client, "/api/v1/me", 503)
        assert api.headers["retry-after"] == "60"
        assert api.headers["refresh"] == "15"
        assert api.json()["error"]["code"] == "service_unavailable"
        openai = await client.post("/v1/chat/completions", json={})
        assert openai.status_code == 503
        assert "message" in openai.json()["error"]
        page = await client.get("/")
        assert page.status_code == 503
        assert "Manutenzione in corso" in page.text
        assert (await client.get("/health")).status_code == 200  # operators still see health and metrics
        assert (await client.get("/metrics")).status_code == 200

        assert (await client.get("/not-the-secret")).status_code == 503
        bypass = await client.get(f"/{SECRET}")
        assert bypass.status_code == 302
        assert bypass.headers["location"] == "/"
        assert BYPASS_COOKIE in bypass.headers["set-cookie"]
        assert "httponly" in bypass.headers["set-cookie"].lower()
        assert (await client.get("/up")).status_code == 200  # the cookie is kept by the client
        client.cookies.clear()
        client.cookies.set(BYPASS_COOKIE, "forged")
        assert (await client.get("/up")).status_code == 503

        code, output = await cbp_here("up", env=env)
        assert code == 0
        assert "live" in output
        await _until(client, "/up", 200)
        assert "was not in maintenance" in (await cbp_here("up", env=env))[1]


async def test_down_is_shared_through_redis(tmp_path: Path, database_url: str, env: dict[str, str]) -> None:
    shared = {"REDIS_HOST": "127.0.0.1", "CACHE_PREFIX": f"cbp-test-{uuid.uuid4().hex[:8]}"}
    async with app_with(tmp_path, database_url, **shared) as (_, client):
        assert "(redis)" in (await cbp_here("down", "--retry", "30", env={**env, **shared}))[1]
        response = await _until(client, "/up", 503)
        assert response.headers["retry-after"] == "30"
        assert "refresh" not in response.headers
        assert "Down for maintenance" in response.text or "Manutenzione" in response.text
        assert (await client.get("/health")).status_code == 200
        assert (await cbp_here("up", env={**env, **shared}))[0] == 0
        await _until(client, "/up", 200)


async def test_a_bypass_secret_must_be_url_safe(env: dict[str, str]) -> None:
    code, output = await cbp_here("down", "--secret", "no/slashes", env=env)
    assert code == 2
    assert "--secret" in output


async def test_the_file_driver_keeps_the_state_in_the_data_folder(
    tmp_path: Path, database_url: str, env: dict[str, str]
) -> None:
    async with app_with(tmp_path, database_url, APP_MAINTENANCE_DRIVER="file") as (_, client):
        code, output = await cbp_here("down", "--with-secret", env={**env, "APP_MAINTENANCE_DRIVER": "file"})
        assert code == 0, output
        assert (tmp_path / "storage" / "framework" / "down").is_file()
        secret = output.split("bypass: ")[1].split()[0].rsplit("/", 1)[1]
        await _until(client, "/up", 503)
        assert (await client.get(f"/{secret}")).status_code == 302
        assert (await client.get("/up")).status_code == 200
        assert (await cbp_here("up", env={**env, "APP_MAINTENANCE_DRIVER": "file"}))[0] == 0
        assert not (tmp_path / "storage" / "framework" / "down").exists()
