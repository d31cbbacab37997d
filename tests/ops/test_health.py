"""/up, /health and the secret that guards it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from chatbot_platform.app import create_app
from tests.fixtures.database import make_settings


async def _client_for(
    settings_overrides: dict[str, str], tmp_path: Path, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path / "s", database_url, **settings_overrides))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            yield client


async def test_up_is_always_open(client: httpx.AsyncClient) -> None:
    response = await client.get("/up")
    assert (response.status_code, response.json()) == (200, {"status": "up"})


async def test_health_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["ok"] is True
    assert body["timestamp"].endswith("+00:00")


@pytest.fixture
async def guarded(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client_for({"HEALTH_CHECK_SECRET": "s3cret-health"}, tmp_path, database_url):
        yield client


async def test_health_secret_is_required_when_set(guarded: httpx.AsyncClient) -> None:
    assert (await guarded.get("/health")).status_code == 401
    assert (await guarded.get("/health", headers={"X-Health-Secret": "wrong"})).status_code == 401
    assert (await guarded.get("/health", headers={"X-Health-Secret": "s3cret-health"})).status_code == 200
    assert (await guarded.get("/health?secret=s3cret-health")).status_code == 200
    assert (await guarded.get("/up")).status_code == 200


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    dead = f"postgresql://postgres@/nowhere?host={tmp_path}"
    async for client in _client_for({}, tmp_path, dead):
        yield client


async def test_health_is_503_when_the_database_is_unreachable(unreachable: httpx.AsyncClient) -> None:
    response = await unreachable.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["ok"] is False
    assert (await unreachable.get("/up")).status_code == 200


async def test_api_calls_fail_cleanly_with_503_when_the_database_is_unreachable(
    unreachable: httpx.AsyncClient,
) -> None:
    response = await unreachable.get("/api/v1/me", headers={"Authorization": "Bearer cbp_000000000000_x"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert "Retry-After" in response.headers


async def test_health_probes_storage_queue_and_vector_store(client: httpx.AsyncClient) -> None:
    checks = (await client.get("/health")).json()["checks"]
    assert set(checks) == {"database", "storage", "queue", "vector_store"}  # no Redis configured
    assert checks["storage"] == {"ok": True, "latency_ms": checks["storage"]["latency_ms"], "disk": "local"}
    queue = checks["queue"]
    assert queue["ok"] is True
    assert queue["connection"] == "database"
    assert set(queue["workers"]) == {"default", "ingestion", "embeddings", "scraping"}
    assert queue["workers"]["ingestion"] >= 1  # the in-process workers announce themselves
    assert checks["vector_store"]["ok"] is True
    assert checks["vector_store"]["driver"] == "pgvector"


async def test_health_checks_redis_when_configured(tmp_path: Path, database_url: str) -> None:
    async for client in _client_for({"REDIS_HOST": "127.0.0.1"}, tmp_path, database_url):
        body = (await client.get("/health")).json()
        assert body["checks"]["redis"]["ok"] is True, body
        assert body["status"] == "healthy"


async def test_health_is_503_when_storage_cannot_be_written(tmp_path: Path, database_url: str) -> None:
    dead_s3 = {
        "FILESYSTEM_DISK": "s3",
        "AWS_BUCKET": "files",
        "AWS_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
        "AWS_USE_PATH_STYLE_ENDPOINT": "true",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
    }
    async for client in _client_for(dead_s3, tmp_path, database_url):
        response = await client.get("/health")
        assert response.status_code == 503
        storage = response.json()["checks"]["storage"]
        assert storage["ok"] is False
        assert storage["error"]
        assert response.json()["checks"]["database"]["ok"] is True


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
