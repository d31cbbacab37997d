"""Async factories that build state through the public API, as a user would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from tests.fixtures.database import ADMIN_TOKEN

ADMIN = {"X-Admin-Token": ADMIN_TOKEN}
_counter = itertools.count(1)


@dataclass
class TenantWithKey:
    id: str
    slug: str
    default_kb_id: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    client: httpx.AsyncClient, *, scopes: list[str] | None = None, **fields: Any
) -> TenantWithKey:
    body = {"name": f"Tenant {next(_counter)}", **fields}
    created = await client.post("/api/v1/tenants", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    tenant = created.json()
    key_body: dict[str, Any] = {"name": "test key"}
    if scopes is not None:
        key_body["scopes"] = scopes
    issued = await client.post(f"/api/v1/tenants/{tenant['id']}/api-keys", json=key_body, headers=ADMIN)
    assert issued.status_code == 201, issued.text
    return TenantWithKey(
        id=tenant["id"],
        slug=tenant["slug"],
        default_kb_id=tenant["default_knowledge_base_id"],
        key=issued.json()["key"],
        key_id=issued.json()["id"],
    )
