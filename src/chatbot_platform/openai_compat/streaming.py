"""Server-sent `chat.completion.chunk` events: the answer's pieces, a last chunk with the finish
reason, `citations` and `retrieval` (and the usage chunk when `stream_options.include_usage`, which
repeats them), then `data: [DONE]`. An error after the first piece is an `{"error": ...}` event.

A client that hangs up cancels the generator; closing it closes the model's stream, so the model
stops generating and nothing is left running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatbot_platform.chat import service as chat
from chatbot_platform.chat.schemas import Answer, AnswerEvent, Finished, TextDelta
from chatbot_platform.kit.errors import AppError
from chatbot_platform.kit.http import ErrorInfo
from chatbot_platform.kit.sse import encode, finish_even_if_cancelled
from chatbot_platform.openai_compat.errors import openai_envelope

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger("chatbot_platform.chat")
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class StreamMeta:
    completion_id: str
    created: int
    model: str
    include_usage: bool


async def sse(
    services: Services,
    prepared: chat.Prepared,
    first: AnswerEvent,
    events: AsyncGenerator[AnswerEvent, None],
    meta: StreamMeta,
) -> AsyncGenerator[bytes, None]:
    first_token_ms: int | None = None
    started_role = False
    async with aclosing(events):
        event = first
        while True:
            if isinstance(event, TextDelta):
                if first_token_ms is None:
                    first_token_ms = int((time.perf_counter() - prepared.started) * 1000)
                delta = (
                    {"content": event.text} if started_role else {"role": "assistant", "content": event.text}
                )
                started_role = True
                yield chunk(meta, delta)
            elif isinstance(event, Finished):
                if not started_role:
                    yield chunk(meta, {"role": "assistant", "content": ""})
                for payload in final_chunks(meta, event.answer):
                    yield payload
                await finish_even_if_cancelled(
                    chat.record(services, prepared, event.answer, first_token_ms=first_token_ms)
                )
                yield DONE
                return
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except AppError as error:
                yield errorencode(ErrorInfo(error.status_code, error.code, error.message, error.details))
                return
            except Exception:  # after the first piece the status is sent: the error goes in the stream
                log.exception("chat stream failed")
                yield errorencode(ErrorInfo(500, "internal_error", "Internal server error."))
                return


def chunk(meta: StreamMeta, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
    payload = {
        "id": meta.completion_id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        **extra,
    }
    return encode(payload)


def final_chunks(meta: StreamMeta, answer: Answer) -> list[bytes]:
    extensions = {
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "retrieval": answer.retrieval.model_dump(mode="json"),
    }
    chunks = [chunk(meta, {}, answer.finish_reason, **extensions)]
    if meta.include_usage:
        usage = {
            "prompt_tokens": answer.usage.prompt_tokens,
            "completion_tokens": answer.usage.completion_tokens,
            "total_tokens": answer.usage.total_tokens,
        }
        payload = {
            "id": meta.completion_id,
            "object": "chat.completion.chunk",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": None,
            "choices": [],
            "usage": usage,
            **extensions,
        }
        chunks.append(encode(payload))
    return chunks


def errorencode(info: ErrorInfo) -> bytes:
    _, body = openai_envelope(info)
    return encode(body)
