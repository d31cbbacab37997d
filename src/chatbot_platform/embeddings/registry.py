"""Embedders by name: `openai` when an OpenAI(-compatible) endpoint is configured, else `local`.

The built-ins register with `register_embedder`, the call a third party uses for its own provider
(it runs the call at import, before `build_embedder`). `choose_embedder` picks the name from the
settings: `openai` when OPENAI_API_KEY is set or OPENAI_API_BASE_URL points somewhere other than
OpenAI (a self-hosted compatible server needs no key), otherwise the offline `local` model.

`offered_models` lists the models a tenant may choose (see embeddings/tenant.py): the offline
model always, plus the configured OpenAI(-compatible) model when OpenAI is configured.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.embeddings.local import MODEL_ID as LOCAL_MODEL_ID
from chatbot_platform.embeddings.local import LocalE5Embedder
from chatbot_platform.embeddings.openai import DEFAULT_BASE_URL, OpenAIEmbedder, openai_budget
from chatbot_platform.settings import Settings

EmbedderFactory = Callable[[Settings, Redis | None], Embedder]

EMBEDDERS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make `factory` the provider called `name` (replacing any built-in of that name)."""
    EMBEDDERS[name] = factory


def choose_embedder(settings: Settings) -> str:
    """The provider name the settings call for."""
    openai = settings.openai
    if openai.api_key is not None or openai.base_url.rstrip("/") != DEFAULT_BASE_URL:
        return "openai"
    return "local"


def offered_models(settings: Settings) -> dict[str, str]:
    """The embedding models tenants may choose here, each with the provider that computes it."""
    models = {LOCAL_MODEL_ID: "local"}
    if choose_embedder(settings) == "openai":
        models[settings.openai.embedding_model] = "openai"
    return models


def build_embedder(
    settings: Settings, *, redis: Redis | None = None, provider: str | None = None
) -> Embedder:
    """The configured embedder (or the one named `provider`); `redis` lets processes share rate budgets."""
    name = provider or choose_embedder(settings)
    factory = EMBEDDERS.get(name)
    if factory is None:
        raise ValueError(f"{name!r} is not a registered embedder (known: {', '.join(sorted(EMBEDDERS))})")
    return factory(settings, redis)


def _local(settings: Settings, redis: Redis | None) -> Embedder:  # noqa: ARG001
    return LocalE5Embedder()


def _openai(settings: Settings, redis: Redis | None) -> Embedder:
    return OpenAIEmbedder.from_settings(settings, budget=openai_budget(settings, redis=redis))


register_embedder("local", _local)
register_embedder("openai", _openai)
