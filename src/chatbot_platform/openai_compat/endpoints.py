"""`POST /v1/chat/completions` (also at `/api/v1/chat/completions`), `GET /v1/models`,
`POST /v1/embeddings`: OpenAI's API over the tenant's knowledge bases, for any OpenAI SDK."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse, Response

from chatbot_platform.chat import service as chat
from chatbot_platform.chat.errors import rate_limit_headers
from chatbot_platform.chat.limits import check_chat_rate
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.sse import STREAM_HEADERS, EventStream, first_event
from chatbot_platform.openai_compat import catalog, embeddings
from chatbot_platform.openai_compat.params import to_question
from chatbot_platform.openai_compat.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    EmbeddingList,
    EmbeddingRequest,
    Model,
    ModelList,
    Usage,
)
from chatbot_platform.openai_compat.streaming import StreamMeta, sse
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(tags=["openai-compatible"])
Chatter = Annotated[ApiKeyContext, Depends(require_scope(Scope.CHAT))]
ConversationHeader = Annotated[
    str | None, Header(alias="X-Conversation-Id", description="Store the exchange in this conversation.")
]


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`, SSE chunks."}
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    key: Chatter,
    session: SessionDep,
    services: ServicesDep,
    conversation_id: ConversationHeader = None,
) -> Response:
    """A grounded answer with `citations` and `retrieval`; `stream: true` sends it as SSE chunks."""
    started = time.perf_counter()
    question = to_question(
        body, tenant_id=key.tenant_id, api_key_id=key.key_id, conversation_header=conversation_id
    )
    window = await check_chat_rate(services, key.key_id, question.end_user)
    history_enabled = services.settings.features.conversation_history_enabled
    plan = await chat.plan(session, question, history_enabled=history_enabled, started=started)
    # The request's transaction ends here rather than after the response: nothing below needs it,
    # and holding its connection while the model answers would let slow answers starve the pool.
    await session.commit()
    prepared = await chat.prepare(services, plan)
    headers = rate_limit_headers(window)
    if question.conversation_id:
        headers["X-Conversation-Id"] = question.conversation_id
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        events = chat.stream(services, prepared)
        first = await first_event(events)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        meta = StreamMeta(completion_id, created, body.model, include_usage)
        return EventStream(
            sse(services, prepared, first, events, meta), headers={**headers, **STREAM_HEADERS}
        )
    answer = await chat.complete(services, prepared)
    await chat.record(services, prepared, answer, first_token_ms=None)
    completion = ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=answer.text), finish_reason=answer.finish_reason)],
        usage=Usage(
            prompt_tokens=answer.usage.prompt_tokens,
            completion_tokens=answer.usage.completion_tokens,
            total_tokens=answer.usage.total_tokens,
        ),
        citations=answer.citations,
        retrieval=answer.retrieval,
        conversation_id=question.conversation_id,
    )
    return JSONResponse(completion.model_dump(mode="json"), headers=headers)


# The original product's path, kept for its clients.
router.add_api_route(
    "/api/v1/chat/completions",
    chat_completions,
    methods=["POST"],
    response_model=ChatCompletion,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`, SSE chunks."}
    },
)


@router.get("/v1/models", response_model=ModelList)
async def list_models(key: Chatter, session: SessionDep, services: ServicesDep) -> ModelList:
    """`default`, the tenant's assistant profiles, knowledge bases (`kb:<name>`) and embedding model."""
    return ModelList(data=await catalog.models(services, session, key.tenant_id))


@router.get("/v1/models/{model_id:path}", response_model=Model)
async def get_model(model_id: str, key: Chatter, session: SessionDep, services: ServicesDep) -> Model:
    return await catalog.model_or_raise(services, session, key.tenant_id, model_id)


@router.post("/v1/embeddings", response_model=EmbeddingList)
async def create_embeddings(
    body: EmbeddingRequest, key: Chatter, session: SessionDep, services: ServicesDep
) -> EmbeddingList:
    """Vectors from the tenant's embedding model (the one its knowledge bases are searched with)."""
    return await embeddings.create(services, session, key, body)
