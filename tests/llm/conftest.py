"""Fixtures for the LLM tests: chat models pointed at the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from chatbot_platform.embeddings.openai import RetryPolicy
from chatbot_platform.llm import ChatModel
from tests.fixtures.fake_openai import FakeOpenAI

API_KEY = "sk-test-" + "s3cr3t" * 6
FAST_RETRIES = RetryPolicy(attempts=3, base_delay=0.01, max_delay=5.0)
MakeChatModel = Callable[..., ChatModel]


@pytest.fixture
async def make_chat_model(fake_openai: FakeOpenAI) -> AsyncIterator[MakeChatModel]:
    """Builds chat models talking to the fake server (closed after the test)."""
    made: list[ChatModel] = []

    def make(**options: Any) -> ChatModel:
        defaults: dict[str, Any] = {
            "model": "gpt-4o-mini",
            "expensive_model": "gpt-4o",
            "base_url": fake_openai.base_url,
            "api_key": API_KEY,
            "retry": FAST_RETRIES,
        }
        model = ChatModel(**{**defaults, **options})
        made.append(model)
        return model

    yield make
    for model in made:
        await model.aclose()


@pytest.fixture
def chat_model(make_chat_model: MakeChatModel) -> ChatModel:
    return make_chat_model()
