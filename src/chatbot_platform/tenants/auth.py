"""Who is calling: the platform operator (admin token) or a tenant (API key with scopes)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from chatbot_platform.kit.context import tenant_id_var
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import Forbidden, Unauthorized
from chatbot_platform.kit.security import constant_time_equals
from chatbot_platform.tenants import service
from chatbot_platform.tenants.scopes import Scope

_bearer = HTTPBearer(auto_error=False, description="Tenant API key (or the admin token on /api/v1/tenants).")
_admin_header = APIKeyHeader(name="X-Admin-Token", auto_error=False, description="Platform admin token.")


@dataclass(frozen=True)
class AdminActor:
    label: str = "admin-token"


@dataclass(frozen=True)
class ApiKeyContext:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    key_name: str
    scopes: frozenset[str]

    @property
    def label(self) -> str:
        return f"api-key:{self.key_id}"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def require_admin(
    request: Request,
    header_token: Annotated[str | None, Depends(_admin_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AdminActor:
    presented = header_token or (bearer.credentials if bearer else None)
    expected: str | None = request.app.state.admin_token
    if not presented or not expected or not constant_time_equals(presented, expected):
        raise Unauthorized("Missing or invalid admin token.")
    return AdminActor()


async def require_api_key(
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKeyContext:
    if bearer is None:
        raise Unauthorized("Missing API key: send Authorization: Bearer <key>.")
    api_key = await service.authenticate_api_key(session, bearer.credentials)
    if api_key is None:
        raise Unauthorized("Invalid or revoked API key.")
    tenant_id_var.set(str(api_key.tenant_id))
    # Hand the connection back now: the endpoint may work for seconds (search, a model answering)
    # with its own short transactions, and a request that held this one while waiting for another
    # could starve the pool under load. The session checks out a connection again if used.
    await session.commit()
    return ApiKeyContext(
        tenant_id=api_key.tenant_id,
        key_id=api_key.id,
        key_name=api_key.name,
        scopes=frozenset(api_key.scopes),
    )


def require_scope(scope: Scope) -> Callable[[ApiKeyContext], Awaitable[ApiKeyContext]]:
    async def check(ctx: Annotated[ApiKeyContext, Depends(require_api_key)]) -> ApiKeyContext:
        if scope.value not in ctx.scopes:
            raise Forbidden(f"This API key lacks the {scope.value!r} scope.")
        return ctx

    return check


AdminDep = Annotated[AdminActor, Depends(require_admin)]
ApiKeyCtx = Annotated[ApiKeyContext, Depends(require_api_key)]
