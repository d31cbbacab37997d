from __future__ import annotations

from chatbot_platform.kit.repository import Repository, TenantRepository
from chatbot_platform.models import ApiKey, Membership, Tenant, User


class TenantRepo(Repository[Tenant]):
    model = Tenant


class UserRepo(Repository[User]):
    model = User


class MembershipRepo(TenantRepository[Membership]):
    model = Membership


class ApiKeyRepo(TenantRepository[ApiKey]):
    model = ApiKey
