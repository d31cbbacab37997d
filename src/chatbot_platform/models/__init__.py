"""Every ORM table, one module each."""

from chatbot_platform.models.api_key import ApiKey
from chatbot_platform.models.assistant_profile import AssistantProfile
from chatbot_platform.models.audit_log import AuditEntry
from chatbot_platform.models.base import Base, TenantOwned
from chatbot_platform.models.chunk import Chunk
from chatbot_platform.models.conversation import Conversation
from chatbot_platform.models.conversation_message import ConversationMessage
from chatbot_platform.models.document import Document, DocumentSource, DocumentStatus
from chatbot_platform.models.embedding_cache import CachedEmbedding
from chatbot_platform.models.failed_job import FailedJob
from chatbot_platform.models.idempotency_key import IdempotencyKey
from chatbot_platform.models.knowledge_base import KnowledgeBase
from chatbot_platform.models.membership import Membership, Role
from chatbot_platform.models.search_index import FtsPosting, FtsTerm, KbSearchStats
from chatbot_platform.models.tenant import Tenant
from chatbot_platform.models.usage_record import UsageRecord
from chatbot_platform.models.user import User

__all__ = [
    "ApiKey",
    "AssistantProfile",
    "AuditEntry",
    "Base",
    "CachedEmbedding",
    "Chunk",
    "Conversation",
    "ConversationMessage",
    "Document",
    "DocumentSource",
    "DocumentStatus",
    "FailedJob",
    "FtsPosting",
    "FtsTerm",
    "IdempotencyKey",
    "KbSearchStats",
    "KnowledgeBase",
    "Membership",
    "Role",
    "Tenant",
    "TenantOwned",
    "UsageRecord",
    "User",
]
