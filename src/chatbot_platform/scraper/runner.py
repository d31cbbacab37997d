"""Executing a run (the `scraper.run` job, or `cbp scrape run` in the foreground)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models import ScraperRun, ScraperRunStatus
from chatbot_platform.ops import metrics
from chatbot_platform.scraper import service
from chatbot_platform.scraper.crawler import Counters, Crawl
from chatbot_platform.scraper.freshness import RunRecorder
from chatbot_platform.scraper.render import RenderError
from chatbot_platform.scraper.repository import ScraperRunRepo
from chatbot_platform.scraper.robots import MAX_CRAWL_DELAY
from chatbot_platform.scraper.slots import RedisSlots, Slots

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

log = logging.getLogger(__name__)
ProgressHook = Callable[[Counters], Awaitable[None]]


async def execute_run(
    services: Services, tenant_id: uuid.UUID, run_id: uuid.UUID, *, on_progress: ProgressHook | None = None
) -> str:
    """Crawl for a queued (or interrupted) run; idempotent: a finished run is left alone."""
    async with services.database.transaction() as session:
        run = await service.get_run_or_raise(session, tenant_id, run_id)
        if run.status in service.FINISHED:
            return run.status.value
        config = await service.get_or_raise(session, tenant_id, run.config_id)
        run.status, run.started_at = ScraperRunStatus.RUNNING, utcnow()
        await ScraperRunRepo(session, tenant_id).save(run)
        options, kb_id, config_id = service.options_of(config), config.knowledge_base_id, config.id
    recorder = await RunRecorder.load(
        services, tenant_id, config_id=config_id, run_id=run_id, knowledge_base_id=kb_id
    )
    recorder.hook = on_progress
    settings = services.settings
    limit = settings.features.scraper_max_concurrent
    crawl = Crawl(
        options,
        recorder,
        allow_private=settings.security.fetch_allow_private_networks,
        max_concurrent=limit,
        slots=shared_slots(services, limit, options.timeout),
    )
    try:
        outcome = await crawl.run()
    except RenderError as exc:
        await fail_run(services, tenant_id, run_id, str(exc))
        return "failed"
    except asyncio.CancelledError:  # Ctrl+C on `cbp scrape run`, or a worker shutting down
        await asyncio.shield(fail_run(services, tenant_id, run_id, "The run was interrupted."))
        raise
    status = await recorder.finish(outcome, crawl.counters, remove_vanished=options.remove_vanished)
    record_metrics(tenant_id, status.value, crawl.counters)
    log.info("scrape finished", extra={"run_id": str(run_id), "status": status.value})
    return status.value


def record_metrics(tenant_id: uuid.UUID, status: str, counters: Counters) -> None:
    metrics.record_scrape_run(tenant_id, status)
    for result in ("fetched", "skipped", "failed", "ingested", "vanished", "removed"):
        metrics.record_scrape_page(tenant_id, result, getattr(counters, result))


def shared_slots(services: Services, limit: int, timeout: float) -> Slots | None:
    """With Redis, SCRAPER_MAX_CONCURRENT holds across every worker process; else per process."""
    if services.redis is None:
        return None
    return RedisSlots(
        services.redis,
        key=f"{services.settings.cache.prefix}:scraper:slots",
        limit=limit,
        lease_seconds=timeout * 2 + MAX_CRAWL_DELAY + 30,  # a slot is held for one paced request
    )


async def fail_run(services: Services, tenant_id: uuid.UUID, run_id: uuid.UUID, reason: str) -> None:
    async with services.database.transaction() as session:
        await ScraperRunRepo(session, tenant_id).update_where(
            {"status": ScraperRunStatus.FAILED, "error": reason[:2000], "finished_at": utcnow()},
            ScraperRun.id == run_id,
            ScraperRun.status.in_((ScraperRunStatus.QUEUED, ScraperRunStatus.RUNNING)),
        )
    metrics.record_scrape_run(tenant_id, "failed")
