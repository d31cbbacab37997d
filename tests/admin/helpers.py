"""Admin UI test helpers: accounts made through the services, and a signed-in HTTP client."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from chatbot_platform.admin import service
from chatbot_platform.kit.db import Database
from chatbot_platform.models import Role
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.schemas import UserCreate

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Account:
    email: str
    password: str = PASSWORD


def database_of(app: FastAPI) -> Database:
    database: Database = app.state.database
    return database


async def make_platform_admin(app: FastAPI, email: str = "root@example.com") -> Account:
    async with database_of(app).transaction() as session:
        await service.create_platform_admin(session, email, "Root", PASSWORD)
    return Account(email)


async def make_member(app: FastAPI, tenant_id: str, email: str, role: Role) -> Account:
    async with database_of(app).transaction() as session:
        tenant = await tenants.get_tenant_by_slug_or_id(session, tenant_id)
        data = UserCreate(email=email, name=email.split("@")[0], role=role, password=PASSWORD)
        await tenants.add_user(session, tenant.id, data)
    return Account(email)


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page carries a CSRF token"
    return found.group(1)


async def csrf_token(client: httpx.AsyncClient, path: str = "/admin/login") -> str:
    page = await client.get(path)
    return csrf_in(page.text)


async def log_in(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    token = await csrf_token(client)
    response = await client.post(
        "/admin/login", data={"email": account.email, "password": account.password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, *, page: str | None = None
) -> httpx.Response:
    """POST a form the way the page would: with the CSRF token the page carries."""
    token = await csrf_token(client, page or "/admin/")
    return await client.post(path, data={**(data or {}), "csrf_token": token})
