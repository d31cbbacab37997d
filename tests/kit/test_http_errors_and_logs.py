"""One error envelope, request ids in responses and JSON logs, no exception text or secrets leaked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from chatbot_platform.kit.logging import configure_logging
from tests.factories import ADMIN, make_tenant


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


def log_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_every_response_carries_a_request_id_that_the_logs_share(
    client: httpx.AsyncClient, captured_logs: io.StringIO
) -> None:
    response = await client.get("/api/v1/tenants", headers=ADMIN)
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    request_lines = [line for line in log_lines(captured_logs) if line["message"] == "request"]
    assert request_lines[-1]["request_id"] == request_id
    assert request_lines[-1]["status"] == 200
    assert request_lines[-1]["path"] == "/api/v1/tenants"


async def test_a_safe_incoming_request_id_is_kept_and_an_unsafe_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/up", headers={"X-Request-Id": "trace-1234abcd"})
    assert kept.headers["x-request-id"] == "trace-1234abcd"
    replaced = await client.get("/up", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


async def test_log_lines_name_the_tenant(client: httpx.AsyncClient, captured_logs: io.StringIO) -> None:
    tenant = await make_tenant(client)
    await client.get("/api/v1/me", headers=tenant.headers)
    assert any(line.get("tenant_id") == tenant.id for line in log_lines(captured_logs))


async def test_unexpected_errors_are_a_generic_500_with_the_traceback_only_in_the_log(
    app: FastAPI, client: httpx.AsyncClient, captured_logs: io.StringIO
) -> None:
    @app.get("/boom-for-test")
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    response = await client.get("/boom-for-test")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internal detail" not in response.text
    logged = [line for line in log_lines(captured_logs) if line["message"] == "unhandled error"]
    assert "secret internal detail" in str(logged[0]["exception"])
    assert logged[0]["request_id"] == response.json()["error"]["request_id"]


async def test_unknown_routes_and_methods_use_the_same_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong_method = await client.put("/up")
    assert (wrong_method.status_code, wrong_method.json()["error"]["code"]) == (405, "method_not_allowed")


async def test_secrets_never_reach_the_logs(client: httpx.AsyncClient, captured_logs: io.StringIO) -> None:
    tenant = await make_tenant(client)
    await client.get("/api/v1/me", headers=tenant.headers)
    await client.get("/api/v1/me", headers={"Authorization": "Bearer cbp_0123456789ab_wrong"})
    text = captured_logs.getvalue()
    assert tenant.key not in text
    assert ADMIN["X-Admin-Token"] not in text


async def test_openapi_document_matches_the_routes(app: FastAPI, client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    expected = {
        ("GET", "/up"),
        ("GET", "/health"),
        ("POST", "/api/v1/tenants"),
        ("GET", "/api/v1/tenants"),
        ("GET", "/api/v1/tenants/{tenant_id}"),
        ("PATCH", "/api/v1/tenants/{tenant_id}"),
        ("DELETE", "/api/v1/tenants/{tenant_id}"),
        ("POST", "/api/v1/tenants/{tenant_id}/api-keys"),
        ("GET", "/api/v1/tenants/{tenant_id}/api-keys"),
        ("DELETE", "/api/v1/tenants/{tenant_id}/api-keys/{key_id}"),
        ("POST", "/api/v1/tenants/{tenant_id}/users"),
        ("GET", "/api/v1/tenants/{tenant_id}/users"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/knowledge-bases"),
        ("POST", "/api/v1/knowledge-bases"),
        ("GET", "/api/v1/knowledge-bases/{kb_id}"),
        ("PATCH", "/api/v1/knowledge-bases/{kb_id}"),
        ("DELETE", "/api/v1/knowledge-bases/{kb_id}"),
    }
    assert expected <= documented
    for method, path in documented:
        probe = await client.request(method, path.replace("{", "").replace("}", ""))
        unrouted = probe.status_code == 405 or (
            probe.status_code == 404 and probe.json()["error"]["message"] == "Not Found"
        )
        assert not unrouted, f"{method} {path} is documented but not served"


async def test_a_connection_that_dies_under_a_request_is_a_503_not_a_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """What a request meets when PostgreSQL restarts between two of its statements."""
    database = app.state.services.database

    @app.get("/dying-connection-for-test")
    async def dying() -> None:
        async with database.engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with database.engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await conn.execute(text("SELECT 1"))

    response = await client.get("/dying-connection-for-test")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["retry-after"]
