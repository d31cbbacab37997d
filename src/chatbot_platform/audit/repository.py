from __future__ import annotations

from chatbot_platform.kit.repository import Repository
from chatbot_platform.models import AuditEntry


class AuditRepository(Repository[AuditEntry]):
    model = AuditEntry
