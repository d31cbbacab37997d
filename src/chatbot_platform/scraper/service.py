"""Scraper configurations and runs of one tenant. Never commits (the request or job does)."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.jobs import enqueue_after_commit
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import ScraperConfig, ScraperRun, ScraperRunStatus
from chatbot_platform.scraper import schemas
from chatbot_platform.scraper.errors import (
    RunAlreadyActive,
    RunFinished,
    ScraperConfigNameTaken,
    ScraperConfigNotFound,
    ScraperRunNotFound,
)
from chatbot_platform.scraper.repository import ScraperConfigRepo, ScraperRunRepo

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
RUN_TASK = "scraper.run"
STALLED_AFTER = timedelta(minutes=5)
MASK = "********"
SECRET_HEADER = re.compile(r"authorization|cookie|token|secret|password|api[-_]?key", re.IGNORECASE)
FINISHED = (ScraperRunStatus.COMPLETED, ScraperRunStatus.CANCELLED, ScraperRunStatus.FAILED)


def to_schema(config: ScraperConfig) -> schemas.ScraperConfig:
    """The configuration as the API shows it: credentials in custom headers are masked."""
    interval = config.schedule_interval_minutes
    options = schemas.CrawlOptions.model_validate(config.options)
    options.headers = {k: MASK if SECRET_HEADER.search(k) else v for k, v in options.headers.items()}
    return schemas.ScraperConfig(
        id=config.id,
        name=config.name,
        knowledge_base_id=config.knowledge_base_id,
        enabled=config.enabled,
        options=options,
        schedule=schemas.Schedule(interval_minutes=interval) if interval else None,
        next_run_at=config.next_run_at,
        last_run_at=config.last_run_at,
        created_at=config.created_at,
        updated_at=config.updated_at,
    )


def options_of(config: ScraperConfig) -> schemas.CrawlOptions:
    return schemas.CrawlOptions.model_validate(config.options)


def _stored_options(options: schemas.CrawlOptions) -> dict[str, Any]:
    return options.model_dump(mode="json")


# -- configurations -----------------------------------------------------------------------------


async def create(
    session: AsyncSession, tenant_id: uuid.UUID, data: schemas.ScraperConfigCreate
) -> ScraperConfig:
    await knowledge.get_or_raise(session, tenant_id, data.knowledge_base_id)
    interval = data.schedule.interval_minutes if data.schedule else None
    config = ScraperConfig(
        id=uuid.uuid4(),
        name=data.name,
        knowledge_base_id=data.knowledge_base_id,
        enabled=data.enabled,
        options=_stored_options(data.options),
        schedule_interval_minutes=interval,
        next_run_at=utcnow() if interval else None,  # due at the scheduler's next tick
    )
    return await ScraperConfigRepo(session, tenant_id).add(config, conflict=ScraperConfigNameTaken(data.name))


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID) -> ScraperConfig:
    config = await ScraperConfigRepo(session, tenant_id).get(config_id)
    if config is None:
        raise ScraperConfigNotFound()
    return config


async def list_(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[ScraperConfig], int]:
    repo = ScraperConfigRepo(session, tenant_id)
    items = await repo.list(order_by=[ScraperConfig.created_at, ScraperConfig.id], limit=limit, offset=offset)
    return items, await repo.count()


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID, data: schemas.ScraperConfigUpdate
) -> ScraperConfig:
    config = await get_or_raise(session, tenant_id, config_id)
    fields = data.model_fields_set
    if data.name is not None:
        config.name = data.name
    if data.knowledge_base_id is not None:
        await knowledge.get_or_raise(session, tenant_id, data.knowledge_base_id)
        config.knowledge_base_id = data.knowledge_base_id
    if data.enabled is not None:
        config.enabled = data.enabled
    if data.options is not None:
        stored_headers = options_of(config).headers
        data.options.headers = {  # a masked value sent back unchanged keeps the stored secret
            k: stored_headers.get(k, v) if v == MASK else v for k, v in data.options.headers.items()
        }
        config.options = _stored_options(data.options)
    if "schedule" in fields:
        interval = data.schedule.interval_minutes if data.schedule else None
        if interval != config.schedule_interval_minutes:
            config.schedule_interval_minutes = interval
            config.next_run_at = utcnow() + timedelta(minutes=interval) if interval else None
    return await ScraperConfigRepo(session, tenant_id).save(
        config, conflict=ScraperConfigNameTaken(config.name)
    )


async def delete(session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID) -> ScraperConfig:
    """Delete the configuration with its runs and page records; its documents stay."""
    config = await get_or_raise(session, tenant_id, config_id)
    await ScraperConfigRepo(session, tenant_id).delete(config)
    return config


# -- runs ---------------------------------------------------------------------------------------


async def start_run(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    config_id: uuid.UUID,
    *,
    trigger: str = "manual",
    enqueue: bool = True,
) -> ScraperRun:
    """A queued run, sent to the `scraping` queue after commit; one active run per configuration."""
    config = await get_or_raise(session, tenant_id, config_id)
    runs = ScraperRunRepo(session, tenant_id)
    active = await runs.active_for(config.id)
    if active is not None:
        if not _stalled(active):
            raise RunAlreadyActive()
        active.status, active.finished_at = ScraperRunStatus.FAILED, utcnow()
        active.error = "The run stopped reporting progress (its process ended); a new run replaced it."
        await runs.save(active)
    run = await runs.add(
        ScraperRun(id=uuid.uuid4(), config_id=config.id, trigger=trigger, status=ScraperRunStatus.QUEUED)
    )
    config.last_run_at = utcnow()
    await ScraperConfigRepo(session, tenant_id).save(config)
    if enqueue:
        enqueue_after_commit(
            session, RUN_TASK, key=f"scrape:{run.id}", tenant_id=str(tenant_id), run_id=str(run.id)
        )
    return run


def _stalled(run: ScraperRun) -> bool:
    """A running run saves its counters twice a second; silence means its process is gone."""
    return run.status == ScraperRunStatus.RUNNING and run.updated_at < utcnow() - STALLED_AFTER


async def get_run_or_raise(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> ScraperRun:
    run = await ScraperRunRepo(session, tenant_id).get(run_id)
    if run is None:
        raise ScraperRunNotFound()
    return run


async def list_runs(
    session: AsyncSession, tenant_id: uuid.UUID, config_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[ScraperRun], int]:
    await get_or_raise(session, tenant_id, config_id)
    repo = ScraperRunRepo(session, tenant_id)
    where = [ScraperRun.config_id == config_id]
    items = await repo.list(
        *where, order_by=[ScraperRun.created_at.desc(), ScraperRun.id], limit=limit, offset=offset
    )
    return items, await repo.count(*where)


async def cancel_run(session: AsyncSession, tenant_id: uuid.UUID, run_id: uuid.UUID) -> ScraperRun:
    """A queued run is cancelled at once; a running one stops at its next progress tick."""
    run = await get_run_or_raise(session, tenant_id, run_id)
    if run.status in FINISHED:
        raise RunFinished(run.status.value)
    run.cancel_requested = True
    if run.status == ScraperRunStatus.QUEUED:
        run.status = ScraperRunStatus.CANCELLED
        run.finished_at = utcnow()
    return await ScraperRunRepo(session, tenant_id).save(run)
