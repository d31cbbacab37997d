"""The embedding model of a tenant: what its queries and new chunks are embedded with.

A tenant's active model is `tenants.embedding_model`, NULL meaning the deployment default
(`services.embedder`). It changes only in the transaction that completes a model switch (see
ingestion/model_switch.py), which holds the tenant's *model lock* exclusively. Whoever writes
vectors holds the same lock shared (`hold_tenant_embedder`) from reading the model until the
vectors are written, so no vector of the previous model can land after the switch.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.kit.locks import advisory_lock
from chatbot_platform.tenants import service as tenants

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from chatbot_platform.models import Tenant
    from chatbot_platform.runtime import Services


def model_lock_name(tenant_id: uuid.UUID) -> str:
    return f"embedding-model:{tenant_id}"


def active_model(services: Services, tenant: Tenant) -> str:
    """The name of the tenant's active model (its own, or the deployment default)."""
    return tenant.embedding_model or services.embedder.model


async def tenant_embedder(services: Services, session: AsyncSession, tenant_id: uuid.UUID) -> Embedder:
    """The embedder of the tenant's active model, for its queries and its new chunks.

    Raises TenantNotFound, or EmbeddingModelUnavailable when the deployment no longer offers the
    tenant's model.
    """
    tenant = await tenants.get_tenant_or_raise(session, tenant_id)
    return services.embedder_for(tenant.embedding_model)


async def hold_tenant_embedder(services: Services, session: AsyncSession, tenant_id: uuid.UUID) -> Embedder:
    """Like `tenant_embedder`, and the model cannot change until `session`'s transaction ends."""
    await advisory_lock(session, model_lock_name(tenant_id), shared=True)
    tenant = await tenants.get_tenant_fresh(session, tenant_id)
    return services.embedder_for(tenant.embedding_model)


async def lock_tenant_model(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Wait until nobody is writing vectors for the tenant; until commit, nobody can start."""
    await advisory_lock(session, model_lock_name(tenant_id))
