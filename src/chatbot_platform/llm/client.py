"""Chat completions over HTTP from OpenAI or any server speaking its `/chat/completions` API.

Every try spends from the shared OpenAI request/token budget (the one embeddings use) and is retried
with backoff, or after the server's Retry-After, on 408/409/429/5xx, timeouts and connection errors.
A streamed answer is retried only until a 200 response arrives: once the server has started
answering, a retry could charge twice and repeat text the caller already passed on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from chatbot_platform.embeddings.openai import DEFAULT_BASE_URL, RetryPolicy, estimate_tokens, openai_budget
from chatbot_platform.kit import upstream
from chatbot_platform.kit.ratelimit import BudgetSpent, RateBudget, acquire
from chatbot_platform.llm.errors import LLMError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.llm")

# Budgeted for an answer when the caller sets no max_tokens (OpenAI's limiter counts the maximum too).
ASSUMED_COMPLETION_TOKENS = 512
_RETRY_STATUSES = frozenset({408, 409, 429})
_TIMED_OUT = "timed out"
MAX_CONNECTIONS = 2000
# A person is waiting: past this, a spent budget is a 429 with Retry-After rather than a long silence
# (unbounded, 50 chats a minute over a 200k-token budget waited into their clients' timeouts).
BUDGET_PATIENCE_SECONDS = 10.0


@dataclass(frozen=True)
class Usage:
    """Tokens the server counted for one answer."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A whole answer; `usage` is None when the server sent none."""

    text: str
    model: str
    finish_reason: str | None
    usage: Usage | None


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed answer: text, and on the last pieces the finish reason and usage."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


class _RetryableError(Exception):
    def __init__(self, reason: str, *, delay: float | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.delay, self.status = reason, delay, status


def llm_configured(settings: Settings) -> bool:
    """Whether a chat model is available: an API key, or a compatible server (which may need none)."""
    openai = settings.openai
    return openai.api_key is not None or openai.base_url.rstrip("/") != DEFAULT_BASE_URL


def build_chat_model(settings: Settings, redis: Redis | None = None) -> ChatModel | None:
    """The configured chat model, or None when there is none; `redis` shares the rate budget."""
    if not llm_configured(settings):
        return None
    return ChatModel.from_settings(
        settings, budget=openai_budget(settings, redis=redis), timeout=settings.openai.timeout
    )


class ChatModel:
    """Chat completions, whole or streamed, from OpenAI or a compatible server."""

    def __init__(
        self,
        *,
        model: str,
        expensive_model: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        api_key: SecretStr | str | None = None,
        organization: str | None = None,
        project: str | None = None,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
        budget_patience: float = BUDGET_PATIENCE_SECONDS,
    ) -> None:
        self.model = model
        self.expensive_model = expensive_model or model
        self._secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._host = httpx.URL(base_url).host or base_url
        # OpenAI's newer models refuse `max_tokens`; compatible servers may not know its successor.
        is_openai = base_url.rstrip("/") == DEFAULT_BASE_URL
        self._max_tokens_field = "max_completion_tokens" if is_openai else "max_tokens"
        self._budget = budget
        self._budget_patience = budget_patience
        self._retry = retry or RetryPolicy()
        self._owns_client = client is None
        # `timeout` bounds each read, so a stream may run longer as long as the server keeps talking.
        # Streams stay open for a whole answer, so the pool must hold as many as the server has clients
        # (httpx's default of 100 would queue the rest until its pool timeout fails them).
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=100),
        )
        self._headers = upstream.auth_headers(self._secret, organization, project)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, budget: RateBudget | None = None, **options: Any
    ) -> ChatModel:
        """A chat model configured by the OPENAI_* settings; `options` override constructor arguments."""
        config = settings.openai
        defaults: dict[str, Any] = {
            "model": config.chat_model,
            "expensive_model": config.expensive_model,
            "base_url": config.base_url,
            "api_key": config.api_key,
            "organization": config.organization,
            "project": config.project,
            "budget": budget,
        }
        return cls(**{**defaults, **options})

    async def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        """The whole answer to `messages` (OpenAI's `{"role": ..., "content": ...}` dicts)."""
        payload = self._payload(messages, model, max_tokens, temperature, response_format)
        response = await self._send(payload, stream=False)
        try:
            body = response.json()
        except ValueError:
            raise self._error("answered with invalid JSON") from None
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            return Completion(
                text=str(text),
                model=str(body.get("model") or payload["model"]),
                finish_reason=choice.get("finish_reason"),
                usage=_usage(body.get("usage")),
            )
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._error("answered without a message") from None

    async def stream(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> AsyncGenerator[Delta, None]:
        """The answer piece by piece. Close the generator (`aclose()`, or `contextlib.aclosing`) to
        stop early: that closes the HTTP response, and the server stops generating."""
        payload = self._payload(messages, model, max_tokens, temperature, response_format)
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        response = await self._send(payload, stream=True)
        finished = False
        try:
            lines = response.aiter_lines()
            while True:
                try:
                    line = await anext(lines)
                except StopAsyncIteration:
                    break
                except httpx.TimeoutException:
                    raise self._error("stopped answering mid-stream (timed out)", timed_out=True) from None
                except httpx.HTTPError as exc:
                    raise self._error(f"broke off the stream ({type(exc).__name__})") from None
                if not line.startswith("data:"):
                    continue  # blank separators, `event:` and `:` keep-alive comments
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    finished = True
                    break
                delta = self._parse_chunk(data)
                if delta is None:
                    continue
                finished = finished or delta.finish_reason is not None
                yield delta
        finally:
            await response.aclose()
        if not finished:
            raise self._error("ended the stream before the answer was complete")

    async def aclose(self) -> None:
        """Close the HTTP client if this model created it."""
        if self._owns_client:
            await self._client.aclose()

    def _payload(
        self,
        messages: Sequence[Mapping[str, str]],
        model: str | None,
        max_tokens: int | None,
        temperature: float | None,
        response_format: dict[str, Any] | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": model or self.model, "messages": [dict(m) for m in messages]}
        if max_tokens is not None:
            payload[self._max_tokens_field] = max_tokens
        if temperature is not None:
            payload["temperature"] = temperature
        if response_format is not None:
            payload["response_format"] = response_format
        return payload

    def _estimate(self, payload: dict[str, Any]) -> int:
        """Tokens to budget: the prompt's estimate plus the most the answer may use."""
        prompt = estimate_tokens([m.get("content", "") for m in payload["messages"]])
        return prompt + int(payload.get(self._max_tokens_field) or ASSUMED_COMPLETION_TOKENS)

    async def _send(self, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        """A 200 response (unread when `stream`), after retries; each try spends from the budget."""
        tokens = self._estimate(payload)
        for attempt in range(1, self._retry.attempts + 1):
            if self._budget is not None:
                await self._spend(self._budget, tokens)
            try:
                return await self._send_once(payload, stream=stream)
            except _RetryableError as error:
                if attempt == self._retry.attempts:
                    raise self._error(
                        f"failed after {attempt} attempts; last error: {error.reason}",
                        error.status,
                        timed_out=error.reason == _TIMED_OUT,
                    ) from None
                delay = error.delay if error.delay is not None else self._retry.backoff(attempt)
                log.warning(
                    "chat completion failed, retrying",
                    extra={"host": self._host, "attempt": attempt, "reason": error.reason, "delay_s": delay},
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _spend(self, budget: RateBudget, tokens: int) -> None:
        """Take one request and `tokens` from the shared budget, waiting at most the patience."""
        try:
            await acquire(budget, requests=1, tokens=tokens, patience=self._budget_patience)
        except BudgetSpent as spent:
            raise LLMError(
                f"the OPENAI_MAX_*_PER_MINUTE budget is spent for {spent.retry_after:.0f} s",
                budget_retry_after=spent.retry_after,
            ) from None

    async def _send_once(self, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        request = self._client.build_request("POST", self._url, json=payload, headers=self._headers)
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException:
            raise _RetryableError(_TIMED_OUT) from None
        except httpx.TransportError as exc:
            raise _RetryableError(f"connection error ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise self._error(f"could not be reached ({type(exc).__name__})") from None
        if response.status_code == 200:
            return response
        try:
            await response.aread()
        except httpx.HTTPError:
            pass  # the status alone still says what happened
        finally:
            await response.aclose()
        status = response.status_code
        if status in _RETRY_STATUSES or status >= 500:
            raise _RetryableError(self._describe(response), delay=self._retry_after(response), status=status)
        raise self._error(f"refused: {self._describe(response)}", status)

    def _parse_chunk(self, data: str) -> Delta | None:
        """The delta in one streamed event, or None when it carries nothing (e.g. only the role)."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self._error("streamed invalid JSON") from None
        if not isinstance(chunk, dict):
            raise self._error("streamed an unexpected event")
        if isinstance(chunk.get("error"), dict):
            message = self._redact(str(chunk["error"].get("message", "")))[:200]
            raise self._error(f"failed mid-stream: {message}")
        text, finish_reason = "", None
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            delta = choices[0].get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                text = delta["content"]
            finish_reason = choices[0].get("finish_reason")
        usage = _usage(chunk.get("usage"))
        if not text and finish_reason is None and usage is None:
            return None
        return Delta(text=text, finish_reason=finish_reason, usage=usage)

    def _describe(self, response: httpx.Response) -> str:
        return upstream.describe(response, self._secret)

    def _retry_after(self, response: httpx.Response) -> float | None:
        return upstream.retry_after(response, self._retry.max_delay)

    def _error(self, detail: str, status: int | None = None, *, timed_out: bool = False) -> LLMError:
        """An error whose message names the host and never the API key."""
        message = self._redact(f"Chat request to {self._host} {detail}")
        return LLMError(message, upstream_status=status, timed_out=timed_out)

    def _redact(self, text: str) -> str:
        return upstream.redact(text, self._secret)


def _usage(value: Any) -> Usage | None:
    if not isinstance(value, dict):
        return None
    try:
        return Usage(int(value.get("prompt_tokens") or 0), int(value.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        return None
