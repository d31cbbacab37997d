"""From OpenAI's request to the product's `Question`: every parameter is honoured or refused by name.

Parameters this platform cannot honour (tools, logprobs, penalties, seeds, several choices...) are
accepted only at the value that means "not used" (null, false, 0, empty, n=1, top_p=1), which is
what SDKs and LangChain send by default; any other value is a 400 naming each one.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from chatbot_platform.chat.schemas import Options, Question, Turn
from chatbot_platform.openai_compat.errors import InvalidParameter, UnsupportedParameters
from chatbot_platform.openai_compat.schemas import ChatCompletionRequest, ChatMessage, OpenModel

_ALSO_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "tool_choice": ("none", "auto"),
    "function_call": ("none", "auto"),
    "service_tier": ("auto", "default"),
    "modalities": (["text"],),
    "parallel_tool_calls": (True,),
}
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
MAX_STOP_SEQUENCES = 4


def unsupported(body: OpenModel) -> list[str]:
    """The names of extra parameters set to a value that would change the answer."""
    extras = body.model_extra or {}
    return sorted(name for name, value in extras.items() if not _neutral(name, value))


def _neutral(name: str, value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return True
    if isinstance(value, str | list | dict) and not value:
        return True
    return value in _ALSO_NEUTRAL.get(name, ())


def to_question(
    body: ChatCompletionRequest,
    *,
    tenant_id: uuid.UUID,
    api_key_id: uuid.UUID,
    conversation_header: str | None,
) -> Question:
    names = unsupported(body)
    if body.n not in (None, 1):
        names.append("n")
    if body.top_p not in (None, 1):
        names.append("top_p")
    if names:
        raise UnsupportedParameters(sorted(names))
    return Question(
        tenant_id=tenant_id,
        turns=[_turn(i, m) for i, m in enumerate(body.messages)],
        assistant=body.model,
        conversation_id=_conversation_id(body.conversation_id, conversation_header),
        end_user=body.user or None,
        api_key_id=api_key_id,
        options=Options(
            max_tokens=body.max_completion_tokens or body.max_tokens,
            temperature=body.temperature,
            stop=_stops(body.stop),
            json=_json_mode(body),
        ),
        trace=bool(body.trace),
    )


def _turn(index: int, message: ChatMessage) -> Turn:
    field = f"messages.{index}"
    if message.role in {"tool", "function"} or (message.model_extra or {}).get("tool_calls"):
        raise InvalidParameter(f"{field}.role", f"{field}: tool and function calls are not supported.")
    role = "system" if message.role == "developer" else message.role
    content = message.content
    if content is None:
        return Turn(role, "")
    if isinstance(content, str):
        return Turn(role, content)
    texts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise InvalidParameter(
                f"{field}.content", f"{field}: only text content is supported, not {part.type!r}."
            )
        texts.append(part.text)
    return Turn(role, "\n".join(texts))


def _conversation_id(field: str | None, header: str | None) -> str | None:
    if header is not None and not _CONVERSATION_ID.match(header):
        raise InvalidParameter(
            "X-Conversation-Id", "X-Conversation-Id: use 1 to 200 letters, digits, '.', '_', ':' or '-'."
        )
    if header and field and header != field:
        raise InvalidParameter("conversation_id", "conversation_id and X-Conversation-Id differ.")
    return field or header


def _stops(stop: str | list[str] | None) -> tuple[str, ...]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > MAX_STOP_SEQUENCES:
        raise InvalidParameter("stop", f"stop: at most {MAX_STOP_SEQUENCES} sequences.")
    return tuple(s for s in stops if s)


def _json_mode(body: ChatCompletionRequest) -> bool:
    if body.response_format is None or body.response_format.type == "text":
        return False
    if body.response_format.type == "json_schema":
        raise InvalidParameter(
            "response_format", 'response_format: json_schema is not supported; use {"type": "json_object"}.'
        )
    return True
