"""SQL of the admin UI: sessions, e-mailed tokens, users, memberships, dashboard counts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select

from chatbot_platform.kit.repository import Repository, TenantRepository
from chatbot_platform.models import (
    AdminSession,
    AdminToken,
    ApiKey,
    Document,
    KnowledgeBase,
    Membership,
    Tenant,
    User,
)


class SessionRepo(Repository[AdminSession]):
    model = AdminSession

    async def delete_for_user(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(AdminSession).where(AdminSession.user_id == user_id))

    async def delete_expired(self, now: datetime) -> None:
        await self.session.execute(delete(AdminSession).where(AdminSession.expires_at < now))


class TokenRepo(Repository[AdminToken]):
    model = AdminToken


class UserRepo(Repository[User]):
    model = User

    async def tenants_of(self, user_id: uuid.UUID) -> list[Tenant]:
        """The tenants a user is a member of: a read of `tenants` joined to the user's own memberships
        (the tenant switcher), never of another tenant's rows."""
        query = (
            select(Tenant)
            .join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.user_id == user_id)
            .order_by(Tenant.name)
        )
        return list(await self.session.scalars(query))

    async def all_tenants(self, limit: int) -> list[Tenant]:
        return list(await self.session.scalars(select(Tenant).order_by(Tenant.name).limit(limit)))

    async def count_tenants(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Tenant)) or 0)


class MembershipRepo(TenantRepository[Membership]):
    model = Membership


class KnowledgeBaseCounts(TenantRepository[KnowledgeBase]):
    model = KnowledgeBase


class DocumentCounts(TenantRepository[Document]):
    model = Document


class ApiKeyCounts(TenantRepository[ApiKey]):
    model = ApiKey
