"""The widget's answer stream: server-sent events of the widget's own small vocabulary.

    data: {"type": "delta", "text": "…"}                       (pieces of the answer)
    data: {"type": "done", "message_id": "…", "citations": […], "outcome": "answered"}
    data: {"type": "error", "code": "…", "message": "…"}        (a failure after the first piece)

`done` carries `offer` (a text offering a human, after repeated "I don't know") when the service
desk makes one. A message an operator receives instead of the bot gives one event,
`{"type": "routed", "to": "human"}`; one asking for a human,
`{"type": "handoff", "status", "operator", "message"}`.

The exchange is stored in the visitor's conversation (channel `widget`) before `done` is sent, so
`done` can name the stored answer that feedback refers to.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from chatbot_platform.chat import service as chat
from chatbot_platform.chat.schemas import Answer, AnswerEvent, Citation, Finished, TextDelta
from chatbot_platform.conversations import service as conversations
from chatbot_platform.conversations.schemas import Exchange
from chatbot_platform.desk import handoff
from chatbot_platform.kit.errors import AppError
from chatbot_platform.kit.sse import encode, finish_even_if_cancelled
from chatbot_platform.widget.schemas import PublicCitation
from chatbot_platform.widget.service import CHANNEL
from chatbot_platform.widget.tokens import VisitorSession

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger("chatbot_platform.widget")
Recorded = tuple[uuid.UUID | None, str | None]  # the stored answer's id, the desk's offer of a human


def public_citation(citation: Citation) -> dict[str, Any]:
    return PublicCitation.of(citation.model_dump(mode="json")).model_dump()


async def answer_stream(
    services: Services,
    visitor: VisitorSession,
    prepared: chat.Prepared,
    first: AnswerEvent,
    events: AsyncGenerator[AnswerEvent, None],
) -> AsyncGenerator[bytes, None]:
    first_token_ms: int | None = None
    async with aclosing(events):
        current = first
        while True:
            if isinstance(current, TextDelta):
                if first_token_ms is None:
                    first_token_ms = int((time.perf_counter() - prepared.started) * 1000)
                yield encode({"type": "delta", "text": current.text})
            elif isinstance(current, Finished):
                answer = current.answer
                message_id, offer = await finish_even_if_cancelled(
                    _record(services, visitor, prepared, answer, first_token_ms)
                )
                yield encode(
                    {
                        "type": "done",
                        "message_id": str(message_id) if message_id else None,
                        "citations": [public_citation(c) for c in answer.citations],
                        "outcome": answer.retrieval.outcome.value,
                        "offer": offer,
                    }
                )
                return
            try:
                current = await anext(events)
            except StopAsyncIteration:
                return
            except AppError as error:
                yield encode({"type": "error", "code": error.code, "message": error.message})
                return
            except Exception:  # the status is sent: the error goes in the stream
                log.exception("widget answer stream failed")
                yield encode({"type": "error", "code": "internal_error", "message": "Internal server error."})
                return


async def _record(
    services: Services,
    visitor: VisitorSession,
    prepared: chat.Prepared,
    answer: Answer,
    first_token_ms: int | None,
) -> Recorded:
    """Usage and logs (the chat service), then the exchange in the visitor's conversation and the
    desk's offer of a human; never raises."""
    await chat.record(services, prepared, answer, first_token_ms=first_token_ms)
    if not services.settings.features.conversation_history_enabled:
        return None, None
    exchange = Exchange(
        question=prepared.text,
        answer=answer.text,
        citations=[c.model_dump(mode="json") for c in answer.citations],
        retrieval=answer.retrieval.model_dump(mode="json", exclude={"trace"}),
        outcome=answer.retrieval.outcome.value,
        model=answer.model,
        prompt_tokens=answer.usage.prompt_tokens,
        completion_tokens=answer.usage.completion_tokens,
        latency_ms=int((time.perf_counter() - prepared.started) * 1000),
        first_token_ms=first_token_ms,
    )
    try:
        async with services.database.transaction() as session:
            stored = await conversations.record_exchange(
                session,
                visitor.tenant_id,
                visitor.conversation_id,
                exchange,
                end_user=visitor.visitor_id,
                channel=CHANNEL,
            )
            latest = await conversations.messages(session, visitor.tenant_id, stored, limit=1)
            offer = await handoff.after_answer(session, visitor.tenant_id, visitor.conversation_id)
            return (latest[0].id if latest else None), offer
    except Exception:  # the visitor has the answer; losing its record must not turn it into an error
        log.exception("could not store the widget exchange")
        return None, None


def routed_event(routing: handoff.Routing) -> bytes:
    """The one event of a message the bot does not answer."""
    if routing.outcome is None:
        return encode({"type": "routed", "to": "human"})
    status = str(routing.outcome.handoff.status)
    operator = routing.outcome.handoff.operator
    return encode(
        {"type": "handoff", "status": status, "operator": operator, "message": routing.outcome.notice}
    )


async def single_event(payload: bytes) -> AsyncGenerator[bytes, None]:
    yield payload
