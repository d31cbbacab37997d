from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from chatbot_platform.kit.repository import Repository, TenantRepository
from chatbot_platform.models import ApiKey, Membership, Tenant, User
from chatbot_platform.models.tenant import SWITCH_IN_PROGRESS


class TenantRepo(Repository[Tenant]):
    model = Tenant

    async def get_fresh(self, tenant_id: uuid.UUID, *, lock: bool = False) -> Tenant | None:
        """The row as committed now (not the session's copy); with `lock`, locked until commit."""
        query = select(Tenant).where(Tenant.id == tenant_id).execution_options(populate_existing=True)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def update_switch(self, tenant_id: uuid.UUID, switch_id: uuid.UUID, values: dict[str, Any]) -> bool:
        """Write switch columns while `switch_id` is the tenant's switch in progress; else False."""
        query = (
            update(Tenant)
            .where(
                Tenant.id == tenant_id,
                Tenant.embedding_switch_id == switch_id,
                Tenant.embedding_switch_status.in_(SWITCH_IN_PROGRESS),
            )
            .values(updated_at=Tenant.updated_at, **values)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(query)
        return bool(result.rowcount)  # type: ignore[attr-defined]


class UserRepo(Repository[User]):
    model = User


class MembershipRepo(TenantRepository[Membership]):
    model = Membership


class ApiKeyRepo(TenantRepository[ApiKey]):
    model = ApiKey
