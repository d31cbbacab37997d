from __future__ import annotations

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import UsageRecord


class UsageRepo(TenantRepository[UsageRecord]):
    model = UsageRecord
