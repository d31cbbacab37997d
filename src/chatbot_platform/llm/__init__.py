"""Chat completions from OpenAI or any OpenAI-compatible server, for answers and retrieval steps."""

from chatbot_platform.llm.client import (
    ChatModel,
    Completion,
    Delta,
    Usage,
    build_chat_model,
    llm_configured,
)
from chatbot_platform.llm.errors import LLMError

__all__ = ["ChatModel", "Completion", "Delta", "LLMError", "Usage", "build_chat_model", "llm_configured"]
