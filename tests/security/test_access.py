"""Access rules walked over every route: a key lacking a route's scope gets 403 there, a tenant key
never works on provisioning routes and the admin token never on tenant routes, a revoked key is
refused everywhere; and the shared retrieval cache (Redis) never answers one tenant with another's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.tenants.scopes import ALL_SCOPES
from tests.factories import ADMIN, make_tenant
from tests.fixtures.database import make_settings
from tests.retrieval.corpora import index_corpus
from tests.security.routes import RouteInfo, all_routes

ANY_ID = str(uuid.uuid4())


def tenant_routes(app: FastAPI) -> list[RouteInfo]:
    """Routes a tenant key opens: those that require a scope."""
    return [r for r in all_routes(app) if r.scopes]


def provisioning_routes(app: FastAPI) -> list[RouteInfo]:
    return [r for r in all_routes(app) if r.path.startswith("/api/v1/tenants")]


async def call(client: httpx.AsyncClient, route: RouteInfo, headers: dict[str, str]) -> httpx.Response:
    url = route.url(dict.fromkeys(route.params, ANY_ID))
    body = {} if route.method in {"POST", "PATCH", "PUT"} else None
    return await client.request(route.method, url, headers=headers, json=body)


async def test_every_route_refuses_a_key_that_lacks_its_scope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    routes = tenant_routes(app)
    assert len(routes) >= 60, len(routes)
    tenant = await make_tenant(client)
    refused = 0
    for scope in ALL_SCOPES:
        issued = await client.post(
            f"/api/v1/tenants/{tenant.id}/api-keys",
            json={"name": f"all but {scope}", "scopes": [s.value for s in ALL_SCOPES if s != scope]},
            headers=ADMIN,
        )
        assert issued.status_code == 201, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['key']}"}
        for route in routes:
            if scope.value not in route.scopes:
                continue
            response = await call(client, route, headers)
            assert response.status_code == 403, (scope.value, route.method, route.path, response.text)
            assert scope.value in response.json()["error"]["message"]
            refused += 1
    assert refused >= len(routes)


async def test_tenant_keys_never_provision_and_the_admin_token_never_acts_as_a_tenant(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(client)
    for route in provisioning_routes(app):
        response = await call(client, route, tenant.headers)
        assert response.status_code in (401, 403), (route.method, route.path, response.status_code)
    for route in tenant_routes(app):
        for headers in (ADMIN, {"Authorization": f"Bearer {ADMIN['X-Admin-Token']}"}):
            response = await call(client, route, headers)
            assert response.status_code == 401, (route.method, route.path, response.status_code)


async def test_a_revoked_key_is_refused_on_every_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    assert (await client.get("/api/v1/knowledge-bases", headers=tenant.headers)).status_code == 200
    revoked = await client.delete(f"/api/v1/tenants/{tenant.id}/api-keys/{tenant.key_id}", headers=ADMIN)
    assert revoked.status_code in (200, 204), revoked.text
    for route in tenant_routes(app):
        response = await call(client, route, tenant.headers)
        assert response.status_code == 401, (route.method, route.path, response.status_code, response.text)
    forged = {"Authorization": f"Bearer {tenant.key[:-4]}AAAA"}  # right prefix, wrong secret
    assert (await client.get("/api/v1/knowledge-bases", headers=forged)).status_code == 401


@pytest.fixture
async def redis_client(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The platform with its caches in the shared Redis (6379), under a key prefix of this test alone."""
    prefix = f"cbp-sec-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        tmp_path / "storage", database_url, REDIS_HOST="127.0.0.1", CACHE_STORE="redis", CACHE_PREFIX=prefix
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, prefix
    redis = aioredis.Redis(host="127.0.0.1", port=6379, db=settings.redis.cache_database)
    try:
        keys = [key async for key in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_the_redis_retrieval_cache_never_crosses_tenants(
    redis_client: tuple[httpx.AsyncClient, str],
) -> None:
    client, prefix = redis_client
    query = "Quando apre lo sportello?"
    a, b = await make_tenant(client), await make_tenant(client)
    await index_corpus(client, a, {"orari-a": ("Orari", "Lo sportello di Alfa apre alle otto.")})
    await index_corpus(client, b, {"orari-b": ("Orari", "Lo sportello di Beta apre alle nove.")})
    for _ in range(2):  # the second round is answered from the cache
        for tenant, own, other in ((a, "Alfa", "Beta"), (b, "Beta", "Alfa")):
            found = await client.post(
                "/api/v1/retrieval/search", json={"query": query}, headers=tenant.headers
            )
            assert found.status_code == 200, found.text
            assert own in found.text
            assert other not in found.text
    redis = aioredis.Redis(host="127.0.0.1", port=6379, db=1)  # the cache is on REDIS_CACHE_DATABASE
    try:
        cached = [key async for key in redis.scan_iter(f"{prefix}*")]
    finally:
        await redis.aclose()
    assert cached, "the retrieval cache did not use Redis: the test would prove nothing"
