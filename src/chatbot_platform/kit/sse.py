"""Server-sent events: the response class, the event encoding, and the two guarantees every stream
needs — the body generator is closed however the response ends (so an upstream stream it reads is
closed too), and work that must outlive a departed client is finished anyway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Coroutine
from contextlib import aclosing
from typing import Any, TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Send

T = TypeVar("T")
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Work still running after its client left (kept referenced so that it finishes).
_UNFINISHED: set[asyncio.Task[Any]] = set()


class EventStream(StreamingResponse):
    """A streaming response whose body generator is closed however the response ends."""

    media_type = "text/event-stream"

    async def stream_response(self, send: Send) -> None:
        body = self.body_iterator
        if isinstance(body, AsyncGenerator):
            async with aclosing(body):
                await super().stream_response(send)
        else:
            await super().stream_response(send)


async def first_event(events: AsyncGenerator[T, None]) -> T:
    """The first event, awaited before the response starts: a failure here is a plain HTTP error."""
    try:
        return await anext(events)
    except BaseException:
        await events.aclose()
        raise


def encode(payload: Any) -> bytes:
    """One `data:` event holding `payload` as compact JSON (ids and times as strings)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return b"data: " + text.encode() + b"\n\n"


async def finish_even_if_cancelled(work: Coroutine[Any, Any, T]) -> T:
    """Await `work`; if the client leaves meanwhile, `work` still completes."""
    task = asyncio.create_task(work)
    _UNFINISHED.add(task)
    task.add_done_callback(_UNFINISHED.discard)
    return await asyncio.shield(task)
