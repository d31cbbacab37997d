"""Embedders per model and per tenant: the models a deployment offers, built once, followed per tenant."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from chatbot_platform.embeddings.base import EmbeddingModelUnavailable
from chatbot_platform.embeddings.registry import offered_models
from chatbot_platform.embeddings.tenant import tenant_embedder
from chatbot_platform.ingestion import model_switch
from chatbot_platform.runtime import Services
from tests.factories import make_tenant
from tests.fixtures.database import make_settings
from tests.fixtures.fake_openai import FakeOpenAI
from tests.ingestion.test_pipeline_jobs import client_for, running_app

OPENAI, E5 = "text-embedding-3-small", "multilingual-e5-small"


@pytest.fixture
async def openai_app(fake_openai: FakeOpenAI, tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    overrides = {"OPENAI_API_BASE_URL": fake_openai.base_url, "OPENAI_EMBEDDING_MODEL": OPENAI}
    async for app in running_app(overrides, tmp_path, database_url):
        yield app


def test_the_local_model_is_always_offered_and_openai_only_when_configured(tmp_path: Path) -> None:
    assert offered_models(make_settings(tmp_path)) == {E5: "local"}
    configured = make_settings(tmp_path, OPENAI_API_KEY="sk-test", OPENAI_EMBEDDING_MODEL="my-embedder")
    assert offered_models(configured) == {E5: "local", "my-embedder": "openai"}


async def test_embedders_are_built_once_per_model_and_unknown_models_are_refused(openai_app: FastAPI) -> None:
    services: Services = openai_app.state.services

    assert services.embedder.model == OPENAI
    assert services.embedder_for(None) is services.embedder
    assert services.embedder_for(OPENAI) is services.embedder
    assert services.embedder_for(E5) is services.embedder_for(E5)
    assert services.embedder_for(E5).model == E5
    assert services.embedding_models() == sorted([E5, OPENAI])
    with pytest.raises(EmbeddingModelUnavailable, match=f"{E5}, {OPENAI}"):
        services.embedder_for("text-embedding-3-large")


async def test_a_tenant_embeds_with_its_own_model_once_switched(openai_app: FastAPI) -> None:
    services: Services = openai_app.state.services
    async with client_for(openai_app) as client:
        tenant = await make_tenant(client)
        other = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    async with services.database.transaction() as session:
        assert (await tenant_embedder(services, session, tenant_id)).model == OPENAI
        await model_switch.request_switch(session, services, tenant_id, E5)

    deadline = asyncio.get_running_loop().time() + 60
    while (await current_model(services, tenant_id)) != E5:  # the queued job switches the empty tenant
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    assert await current_model(services, uuid.UUID(other.id)) == OPENAI


async def current_model(services: Services, tenant_id: uuid.UUID) -> str:
    async with services.database.transaction() as session:
        return (await tenant_embedder(services, session, tenant_id)).model
