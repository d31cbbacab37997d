"""Every ORM table, one module each."""

from chatbot_platform.models.admin_session import AdminSession
from chatbot_platform.models.admin_token import AdminToken, AdminTokenKind
from chatbot_platform.models.api_key import ApiKey
from chatbot_platform.models.assistant_profile import AssistantProfile
from chatbot_platform.models.audit_log import AuditEntry
from chatbot_platform.models.base import Base, TenantOwned
from chatbot_platform.models.chunk import Chunk
from chatbot_platform.models.conversation import Conversation
from chatbot_platform.models.conversation_message import ConversationMessage
from chatbot_platform.models.desk_canned_reply import DeskCannedReply
from chatbot_platform.models.desk_form import DeskForm
from chatbot_platform.models.desk_form_submission import DeskFormSubmission
from chatbot_platform.models.desk_handoff import DeskHandoff, HandoffStatus
from chatbot_platform.models.desk_operator import DeskOperator
from chatbot_platform.models.desk_settings import DeskSettings
from chatbot_platform.models.document import Document, DocumentSource, DocumentStatus
from chatbot_platform.models.embedding_cache import CachedEmbedding
from chatbot_platform.models.failed_job import FailedJob
from chatbot_platform.models.idempotency_key import IdempotencyKey
from chatbot_platform.models.knowledge_base import KnowledgeBase
from chatbot_platform.models.membership import Membership, Role
from chatbot_platform.models.ops_state import OpsState
from chatbot_platform.models.scraper_config import ScraperConfig
from chatbot_platform.models.scraper_page import ScraperPage
from chatbot_platform.models.scraper_run import ScraperRun, ScraperRunStatus
from chatbot_platform.models.search_index import FtsPosting, FtsTerm, KbSearchStats
from chatbot_platform.models.tenant import Tenant
from chatbot_platform.models.usage_record import UsageRecord
from chatbot_platform.models.user import User
from chatbot_platform.models.widget_config import WidgetConfig
from chatbot_platform.models.widget_event import WidgetEvent
from chatbot_platform.models.widget_feedback import WidgetFeedback
from chatbot_platform.models.widget_key import WidgetKey

__all__ = [
    "AdminSession",
    "AdminToken",
    "AdminTokenKind",
    "ApiKey",
    "AssistantProfile",
    "AuditEntry",
    "Base",
    "CachedEmbedding",
    "Chunk",
    "Conversation",
    "ConversationMessage",
    "DeskCannedReply",
    "DeskForm",
    "DeskFormSubmission",
    "DeskHandoff",
    "DeskOperator",
    "DeskSettings",
    "Document",
    "DocumentSource",
    "DocumentStatus",
    "FailedJob",
    "FtsPosting",
    "FtsTerm",
    "HandoffStatus",
    "IdempotencyKey",
    "KbSearchStats",
    "KnowledgeBase",
    "Membership",
    "OpsState",
    "Role",
    "ScraperConfig",
    "ScraperPage",
    "ScraperRun",
    "ScraperRunStatus",
    "Tenant",
    "TenantOwned",
    "UsageRecord",
    "User",
    "WidgetConfig",
    "WidgetEvent",
    "WidgetFeedback",
    "WidgetKey",
]
