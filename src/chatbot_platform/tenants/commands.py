"""The work behind `cbp tenant embedding-model` (the Typer command itself is in cli.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from chatbot_platform.kit.cli import err
from chatbot_platform.models.tenant import SWITCH_IN_PROGRESS
from chatbot_platform.tenants.schemas import Tenant

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services
    from chatbot_platform.settings import Settings

POLL_SECONDS = 0.5
SHOWN_FIELDS = {"id", "slug", "embedding_model", "embedding_switch"}


async def switch_embedding_model(
    settings: Settings, ref: str, model: str, *, wait: bool, actor: str
) -> dict[str, Any]:
    """Record the switch (its job goes to the queue); with `wait`, run it here until it ends."""
    from chatbot_platform.audit import service as audit
    from chatbot_platform.ingestion import model_switch
    from chatbot_platform.kit.db import Database
    from chatbot_platform.runtime import Services
    from chatbot_platform.tenants import service

    database = await Database.open(settings)
    services = await Services.start(settings, database, worker_queues=("embeddings",) if wait else ())
    try:
        async with database.transaction() as session:
            tenant = await service.get_tenant_by_slug_or_id(session, ref)
            await model_switch.request_switch(session, services, tenant.id, model)
            await audit.record(
                session,
                actor=actor,
                action="tenant.updated",
                tenant_id=tenant.id,
                target=tenant,
                details={"embedding_model": model},
            )
        if wait:
            await _follow(services, tenant.id)
        return await _state(services, tenant.id)
    finally:
        await services.close()
        await database.close()


async def _state(services: Services, tenant_id: uuid.UUID) -> dict[str, Any]:
    from chatbot_platform.tenants import service

    async with services.database.transaction() as session:
        tenant = await service.get_tenant_fresh(session, tenant_id)
    view = Tenant.of(tenant, default_embedding_model=services.embedder.model)
    return view.model_dump(mode="json", include=SHOWN_FIELDS)


async def _follow(services: Services, tenant_id: uuid.UUID) -> None:
    """A progress bar (on stderr, so stdout stays JSON) until the switch ends."""
    columns = (TextColumn("re-embedding"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        bar = progress.add_task("switch", total=100)
        while True:
            state = (await _state(services, tenant_id))["embedding_switch"]
            if state is None or state["status"] not in SWITCH_IN_PROGRESS:
                progress.update(bar, completed=100 if state and state["status"] == "completed" else 0)
                return
            progress.update(bar, completed=state["progress"])
            await asyncio.sleep(POLL_SECONDS)
