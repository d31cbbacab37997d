"""Scraper API: configurations, runs with live counters and cancel, and single-page scrapes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from chatbot_platform.audit import service as audit
from chatbot_platform.ingestion import service as documents
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.scraper import service, single, tasks  # noqa: F401 - tasks registers the job
from chatbot_platform.scraper.errors import ScraperDisabled
from chatbot_platform.scraper.schemas import (
    ScrapedPage,
    ScraperConfig,
    ScraperConfigCreate,
    ScraperConfigUpdate,
    ScraperRun,
    ScrapeUrl,
)
from chatbot_platform.settings import Settings
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/scraper", tags=["scraper"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.SCRAPER_READ))]
Writer = Annotated[ApiKeyContext, Depends(require_scope(Scope.SCRAPER_WRITE))]


def _enabled(settings: Settings) -> None:
    if not settings.features.scraper_enabled:
        raise ScraperDisabled()


@router.get("/configs", response_model=Page[ScraperConfig])
async def list_configs(session: SessionDep, ctx: Reader, page: PageDep) -> Page[ScraperConfig]:
    items, total = await service.list_(session, ctx.tenant_id, limit=page.limit, offset=page.offset)
    return Page(
        items=[service.to_schema(c) for c in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/configs", status_code=status.HTTP_201_CREATED, response_model=ScraperConfig)
async def create_config(
    data: ScraperConfigCreate, session: SessionDep, ctx: Writer, request: Request
) -> ScraperConfig:
    config = await service.create(session, ctx.tenant_id, data)
    await audit.record_tenant_action(session, ctx, request, "scraper_config.created", config)
    return service.to_schema(config)


@router.get("/configs/{config_id}", response_model=ScraperConfig)
async def get_config(config_id: uuid.UUID, session: SessionDep, ctx: Reader) -> ScraperConfig:
    return service.to_schema(await service.get_or_raise(session, ctx.tenant_id, config_id))


@router.patch("/configs/{config_id}", response_model=ScraperConfig)
async def update_config(
    config_id: uuid.UUID, data: ScraperConfigUpdate, session: SessionDep, ctx: Writer, request: Request
) -> ScraperConfig:
    config = await service.update(session, ctx.tenant_id, config_id, data)
    changed = sorted(data.model_fields_set)
    await audit.record_tenant_action(
        session, ctx, request, "scraper_config.updated", config, details={"fields": changed}
    )
    return service.to_schema(config)


@router.delete("/configs/{config_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_config(config_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request) -> Response:
    """Delete the configuration, its runs and page records; the documents it ingested stay."""
    config = await service.delete(session, ctx.tenant_id, config_id)
    await audit.record_tenant_action(
        session, ctx, request, "scraper_config.deleted", config, details={"name": config.name}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/configs/{config_id}/runs", status_code=status.HTTP_202_ACCEPTED, response_model=ScraperRun)
async def start_run(
    config_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request, settings: SettingsDep
) -> ScraperRun:
    """Queue a crawl on the `scraping` queue; follow it with GET /api/v1/scraper/runs/{id}."""
    _enabled(settings)
    run = await service.start_run(session, ctx.tenant_id, config_id)
    await audit.record_tenant_action(session, ctx, request, "scraper_run.started", run)
    return ScraperRun.model_validate(run)


@router.get("/configs/{config_id}/runs", response_model=Page[ScraperRun])
async def list_runs(
    config_id: uuid.UUID, session: SessionDep, ctx: Reader, page: PageDep
) -> Page[ScraperRun]:
    items, total = await service.list_runs(
        session, ctx.tenant_id, config_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ScraperRun.model_validate(r) for r in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/runs/{run_id}", response_model=ScraperRun)
async def get_run(run_id: uuid.UUID, session: SessionDep, ctx: Reader) -> ScraperRun:
    """The run with its live counters (found, fetched, skipped, failed, ingested, vanished, removed)."""
    return ScraperRun.model_validate(await service.get_run_or_raise(session, ctx.tenant_id, run_id))


@router.post("/runs/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=ScraperRun)
async def cancel_run(run_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request) -> ScraperRun:
    """A queued run is cancelled at once; a running one stops within a second."""
    run = await service.cancel_run(session, ctx.tenant_id, run_id)
    await audit.record_tenant_action(session, ctx, request, "scraper_run.cancelled", run)
    return ScraperRun.model_validate(run)


@router.post("/scrape-url", status_code=status.HTTP_202_ACCEPTED, response_model=ScrapedPage)
async def scrape_url(
    data: ScrapeUrl, services: ServicesDep, session: SessionDep, ctx: Writer, request: Request
) -> ScrapedPage:
    """Fetch and extract one page now and queue its ingestion (external_id = its canonical URL)."""
    page = await single.scrape_one(services, ctx.tenant_id, data)
    document = await documents.get_or_raise(session, ctx.tenant_id, page.document_id)
    await audit.record_tenant_action(
        session, ctx, request, "document.scraped", document, details={"url": page.url}
    )
    return page
