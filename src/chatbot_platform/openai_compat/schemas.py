"""OpenAI's request and response shapes, with this platform's documented extensions
(`conversation_id` and `trace` on requests; `citations` and `retrieval` on responses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chatbot_platform.chat.schemas import Citation, Retrieval

ConversationId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,200}$")]
# Far above any question or instruction the platform uses (RAG_CTX_MAX_CHARS is the context), and low
# enough that a many-megabyte message is refused at once rather than tokenized and searched.
MAX_CONTENT_CHARS = 32_000
MessageText = Annotated[str, StringConstraints(max_length=MAX_CONTENT_CHARS)]


class OpenModel(BaseModel):
    """Unknown fields are kept, so that the endpoint can name them in its 400."""

    model_config = ConfigDict(extra="allow")


class ContentPart(OpenModel):
    type: str
    text: MessageText | None = None


class ChatMessage(OpenModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: MessageText | list[ContentPart] | None = None
    name: str | None = None


class ResponseFormat(OpenModel):
    type: Literal["text", "json_object", "json_schema"]


class StreamOptions(OpenModel):
    include_usage: bool | None = None


class ChatCompletionRequest(OpenModel):
    model: str = Field(
        description="An assistant profile, a knowledge base (`kb:<name or id>`) or `default` "
        "(GET /v1/models lists them)."
    )
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: int | None = Field(None, ge=1, le=128)
    stop: str | list[str] | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=200)
    response_format: ResponseFormat | None = None
    conversation_id: ConversationId | None = Field(
        None, description="Extension: store the exchange in this conversation (or send X-Conversation-Id)."
    )
    trace: bool | None = Field(
        None, description="Extension: return the retrieval trace in `retrieval.trace`."
    )


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    citations: list[Citation] = Field(description="Extension: the sources of the answer.")
    retrieval: Retrieval = Field(description="Extension: how the sources were found.")
    conversation_id: str | None = Field(None, description="Extension: where the exchange was stored.")


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    kind: Literal["assistant", "knowledge_base", "embedding"] = Field(description="Extension.")
    description: str = Field("", description="Extension.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class EmbeddingRequest(OpenModel):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=200)


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
