"""Recording who did what; entries are written in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.audit.repository import AuditRepository
from chatbot_platform.kit.context import request_id_var
from chatbot_platform.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    tenant_id: uuid.UUID | None = None,
    target: Any = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None and hasattr(target, "id") else None,
        details=details or {},
        ip=ip,
        request_id=request_id_var.get(),
    )
    return await AuditRepository(session).add(entry)


class TenantActor(Protocol):
    """Who acts for a tenant: an API key today, an admin user later."""

    @property
    def label(self) -> str: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...


async def record_tenant_action(
    session: AsyncSession,
    actor: TenantActor,
    request: Request,
    action: str,
    target: Any,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """`record` for a request made on behalf of a tenant."""
    return await record(
        session,
        actor=actor.label,
        action=action,
        tenant_id=actor.tenant_id,
        target=target,
        details=details,
        ip=request.client.host if request.client else None,
    )


async def list_entries(
    session: AsyncSession, *, tenant_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
) -> list[AuditEntry]:
    repo = AuditRepository(session)
    where = [AuditEntry.tenant_id == tenant_id] if tenant_id is not None else []
    return await repo.list(*where, order_by=[AuditEntry.created_at.desc()], limit=limit, offset=offset)
