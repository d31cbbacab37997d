"""Provisioning API (admin token) and the tenant's own `/me`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from chatbot_platform.audit import service as audit
from chatbot_platform.ingestion import model_switch
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.models import Tenant as TenantRow
from chatbot_platform.runtime import Services, ServicesDep
from chatbot_platform.tenants import service
from chatbot_platform.tenants.auth import AdminDep, ApiKeyCtx, client_ip
from chatbot_platform.tenants.schemas import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    Me,
    Member,
    Tenant,
    TenantCreate,
    TenantCreated,
    TenantUpdate,
    UserCreate,
)

router = APIRouter(prefix="/api/v1", tags=["tenants"])


def _view(tenant: TenantRow, services: Services) -> Tenant:
    return Tenant.of(tenant, default_embedding_model=services.embedder.model)


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
async def create_tenant(
    data: TenantCreate,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    admin: AdminDep,
    request: Request,
) -> TenantCreated:
    """Create a tenant and its default knowledge base."""
    tenant, kb = await service.create_tenant(session, data, default_locale=settings.app.locale)
    await audit.record(
        session,
        actor=admin.label,
        action="tenant.created",
        tenant_id=tenant.id,
        target=tenant,
        ip=client_ip(request),
    )
    return TenantCreated(**_view(tenant, services).model_dump(), default_knowledge_base_id=kb.id)


@router.get("/tenants", response_model=Page[Tenant])
async def list_tenants(
    session: SessionDep, services: ServicesDep, _: AdminDep, page: PageDep
) -> Page[Tenant]:
    items, total = await service.list_tenants(session, limit=page.limit, offset=page.offset)
    return Page(items=[_view(t, services) for t in items], total=total, limit=page.limit, offset=page.offset)


@router.get("/tenants/{tenant_id}", response_model=Tenant)
async def get_tenant(tenant_id: uuid.UUID, session: SessionDep, services: ServicesDep, _: AdminDep) -> Tenant:
    """One tenant, with its active embedding model and the latest change of it."""
    return _view(await service.get_tenant_or_raise(session, tenant_id), services)


@router.patch("/tenants/{tenant_id}", response_model=Tenant)
async def update_tenant(
    tenant_id: uuid.UUID,
    data: TenantUpdate,
    session: SessionDep,
    services: ServicesDep,
    admin: AdminDep,
    request: Request,
) -> Tenant:
    """Change a tenant; a new `embedding_model` starts re-embedding in the background (see the switch)."""
    tenant = await service.update_tenant(session, tenant_id, data)
    if data.embedding_model is not None:
        await model_switch.request_switch(session, services, tenant_id, data.embedding_model)
        tenant = await service.get_tenant_fresh(session, tenant_id)
    await audit.record(
        session,
        actor=admin.label,
        action="tenant.updated",
        tenant_id=tenant.id,
        target=tenant,
        details=data.model_dump(exclude_unset=True),
        ip=client_ip(request),
    )
    return _view(tenant, services)


@router.delete("/tenants/{tenant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tenant(
    tenant_id: uuid.UUID, session: SessionDep, admin: AdminDep, request: Request
) -> Response:
    """Delete a tenant and everything it owns."""
    tenant = await service.delete_tenant(session, tenant_id)
    await audit.record(
        session,
        actor=admin.label,
        action="tenant.deleted",
        target=tenant,
        details={"slug": tenant.slug},
        ip=client_ip(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tenants/{tenant_id}/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated
)
async def issue_api_key(
    tenant_id: uuid.UUID, data: ApiKeyCreate, session: SessionDep, admin: AdminDep, request: Request
) -> ApiKeyCreated:
    """Issue a secret API key. The key is in this response only; only its hash is stored."""
    issued = await service.issue_api_key(session, tenant_id, data)
    await audit.record(
        session,
        actor=admin.label,
        action="api_key.issued",
        tenant_id=tenant_id,
        target=issued.api_key,
        details={"name": data.name},
        ip=client_ip(request),
    )
    return ApiKeyCreated(**ApiKey.model_validate(issued.api_key).model_dump(), key=issued.secret)


@router.get("/tenants/{tenant_id}/api-keys", response_model=list[ApiKey])
async def list_api_keys(tenant_id: uuid.UUID, session: SessionDep, _: AdminDep) -> list[ApiKey]:
    return [ApiKey.model_validate(k) for k in await service.list_api_keys(session, tenant_id)]


@router.delete("/tenants/{tenant_id}/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    tenant_id: uuid.UUID, key_id: uuid.UUID, session: SessionDep, admin: AdminDep, request: Request
) -> Response:
    """Revoke a key; it gets 401 from now on."""
    api_key = await service.revoke_api_key(session, tenant_id, key_id)
    await audit.record(
        session,
        actor=admin.label,
        action="api_key.revoked",
        tenant_id=tenant_id,
        target=api_key,
        ip=client_ip(request),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/tenants/{tenant_id}/users", status_code=status.HTTP_201_CREATED, response_model=Member)
async def add_user(
    tenant_id: uuid.UUID, data: UserCreate, session: SessionDep, admin: AdminDep, request: Request
) -> Member:
    """Add a user with a role (creating the user when the e-mail is new)."""
    user, membership = await service.add_user(session, tenant_id, data)
    await audit.record(
        session,
        actor=admin.label,
        action="user.added",
        tenant_id=tenant_id,
        target=user,
        details={"role": membership.role.value},
        ip=client_ip(request),
    )
    return Member(
        id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        has_password=user.password_hash is not None,
        created_at=membership.created_at,
    )


@router.get("/tenants/{tenant_id}/users", response_model=list[Member])
async def list_users(tenant_id: uuid.UUID, session: SessionDep, _: AdminDep) -> list[Member]:
    return [
        Member(
            id=m.user.id,
            email=m.user.email,
            name=m.user.name,
            role=m.role,
            has_password=m.user.password_hash is not None,
            created_at=m.created_at,
        )
        for m in await service.list_members(session, tenant_id)
    ]


@router.get("/me", response_model=Me, tags=["tenant"])
async def me(ctx: ApiKeyCtx, session: SessionDep, services: ServicesDep) -> Me:
    """The calling key's tenant and scopes."""
    tenant = await service.get_tenant_or_raise(session, ctx.tenant_id)
    return Me(
        tenant=_view(tenant, services),
        key_id=ctx.key_id,
        key_name=ctx.key_name,
        scopes=sorted(ctx.scopes),
    )
