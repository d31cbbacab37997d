"""Security headers and CORS as the seed's NGINX block sends them, from the app itself; the API
throttle (THROTTLE_API_REQUESTS) on /api."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import ADMIN, make_tenant
from tests.ops.apps import app_with

ADMIN_ORIGIN = "https://admin.example.com"


async def test_every_response_carries_the_seed_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/up"), await client.get("/api/v1/nothing-here")):
        headers = response.headers
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer-when-downgrade"
        csp = headers["content-security-policy"]
        assert csp.startswith("default-src 'self'")
        assert "frame-ancestors 'self'" in csp
        assert "strict-transport-security" not in headers  # plain http and an http APP_URL
        assert "x-request-id" in headers


async def test_admin_pages_keep_their_own_same_origin_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/")
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1, policies  # the admin's own policy, never doubled or replaced by ours
    assert "'self'" in policies[0]
    assert "http:" not in policies[0]
    assert len(response.headers.get_list("x-frame-options")) == 1
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_is_sent_over_https(tmp_path: Path, database_url: str) -> None:
    async with app_with(tmp_path, database_url, base_url="https://t", HSTS_MAX_AGE="600") as (_, client):
        response = await client.get("/up")
    assert response.headers["strict-transport-security"] == "max-age=600; includeSubDomains"


async def test_headers_can_be_switched_off(tmp_path: Path, database_url: str) -> None:
    async with app_with(tmp_path, database_url, CSP_ENABLED="false") as (_, client):
        headers = (await client.get("/up")).headers
        assert "content-security-policy" not in headers
        assert headers["x-frame-options"] == "SAMEORIGIN"
    async with app_with(tmp_path, database_url, SECURE_HEADERS_ENABLED="false") as (_, client):
        headers = (await client.get("/up")).headers
        assert "x-frame-options" not in headers
        assert "content-security-policy" not in headers


async def test_widget_routes_keep_their_own_framing_and_cors(tmp_path: Path, database_url: str) -> None:
    settings = {"SANCTUM_STATEFUL_DOMAINS": "admin.example.com"}
    async with app_with(tmp_path, database_url, **settings) as (_, client):
        for path in ("/widget/v1/widget.js", "/api/v1/widget/config"):
            response = await client.get(path, headers={"Origin": ADMIN_ORIGIN})
            assert "x-frame-options" not in response.headers, path
            assert "content-security-policy" not in response.headers, path
            # our credentialed CORS never reaches the widget; its own (per tenant origin) stays as it set it
            assert response.headers.get("access-control-allow-origin") != ADMIN_ORIGIN, path
            assert "access-control-allow-credentials" not in response.headers, path
            assert response.headers["x-content-type-options"] == "nosniff"


async def test_cors_allows_the_stateful_domains_only(tmp_path: Path, database_url: str) -> None:
    settings = {"SANCTUM_STATEFUL_DOMAINS": "admin.example.com,localhost:3000"}
    async with app_with(tmp_path, database_url, **settings) as (_, client):
        preflight = await client.options(
            "/api/v1/me",
            headers={"Origin": ADMIN_ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == ADMIN_ORIGIN
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "Authorization" in preflight.headers["access-control-allow-headers"]

        local = await client.get("/api/v1/me", headers={"Origin": "http://localhost:3000"})
        assert local.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "Origin" in local.headers["vary"]

        stranger = await client.get("/api/v1/me", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        refused = await client.options(
            "/api/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in refused.headers


async def test_the_api_throttle_answers_429_with_retry_after(tmp_path: Path, database_url: str) -> None:
    limits = {"APP_ENV": "local", "THROTTLE_API_REQUESTS": "3", "THROTTLE_API_DECAY_MINUTES": "1"}
    async with app_with(tmp_path, database_url, **limits) as (_, client):
        tenant = await make_tenant(client)
        other = await make_tenant(client)
        seen = [await client.get("/api/v1/me", headers=tenant.headers) for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in seen] == ["2", "1", "0", "0"]
        refused = seen[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"]["code"] == "rate_limited"
        assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 200  # per key
        for _ in range(5):  # the platform operator's token is not throttled
            assert (await client.get("/api/v1/tenants", headers=ADMIN)).status_code == 200
        assert (await client.get("/up")).status_code == 200  # only /api is throttled
