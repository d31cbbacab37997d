"""Website scraper: configurations, starting and cancelling runs, live counters (polled JSON)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import checked, problems, read_form, text
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import ScraperRun
from chatbot_platform.scraper import service as scraper
from chatbot_platform.scraper.errors import ScraperDisabled
from chatbot_platform.scraper.schemas import ScraperConfigCreate
from chatbot_platform.settings import Settings

router = APIRouter(prefix="/t/{slug}/scraper")
RUNS_SHOWN = 20
MAX_POLLED = 50
COUNTERS = ("found", "fetched", "skipped", "failed", "ingested", "vanished", "removed")


def _lines(form: FormData, name: str) -> list[str]:
    return [line.strip() for line in text(form, name).splitlines() if line.strip()]


def _config_fields(form: FormData) -> dict[str, Any]:
    options: dict[str, Any] = {
        "seeds": _lines(form, "seeds"),
        "sitemaps": _lines(form, "sitemaps"),
        "allowed_domains": _lines(form, "allowed_domains"),
        "include_patterns": _lines(form, "include_patterns"),
        "exclude_patterns": _lines(form, "exclude_patterns"),
        "respect_robots": checked(form, "respect_robots"),
        "download_documents": checked(form, "download_documents"),
        "render_js": checked(form, "render_js"),
    }
    for name in ("max_depth", "max_pages", "rate_limit"):
        if text(form, name):
            options[name] = text(form, name)
    interval = text(form, "schedule_minutes")
    return {
        "name": text(form, "name"),
        "knowledge_base_id": text(form, "knowledge_base_id"),
        "options": options,
        "schedule": {"interval_minutes": interval} if interval else None,
    }


def _enabled(settings: Settings) -> None:
    if not settings.features.scraper_enabled:
        raise ScraperDisabled()


async def _list_page(
    request: Request, admin: AdminContext, session: SessionDep, status: int = 200, error: str | None = None
) -> Response:
    configs, _ = await scraper.list_(session, admin.tenant_id, limit=200, offset=0)
    kbs, _ = await knowledge.list_(session, admin.tenant_id, limit=200, offset=0)
    return render(
        request,
        "scraper.html",
        status,
        configs=configs,
        knowledge_bases=kbs,
        kb_names={kb.id: kb.name for kb in kbs},
        error=error,
    )


@router.get("", response_class=HTMLResponse)
async def config_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return await _list_page(request, admin, session)


@router.post("", response_class=HTMLResponse)
async def create(request: Request, admin: Admin, session: SessionDep, settings: SettingsDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    _enabled(settings)
    try:
        data = ScraperConfigCreate.model_validate(_config_fields(await read_form(request)))
        async with session.begin_nested():
            config = await scraper.create(session, admin.tenant_id, data)
    except ValidationError as exc:
        return await _list_page(request, admin, session, 422, problems(exc))
    except AppError as exc:
        return await _list_page(request, admin, session, exc.status_code, exc.message)
    await audit.record(
        session, actor=admin.label, action="scraper_config.created", tenant_id=admin.tenant_id, target=config
    )
    return redirect(tenant_url(admin, f"/scraper/{config.id}"), "flash.saved")


def _run_item(run: ScraperRun, locale: str) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "status": run.status.value,
        "label": translate(locale, f"scraper.status.{run.status.value}"),
        "final": run.status in scraper.FINISHED,
        "fields": {name: getattr(run, name) for name in COUNTERS} | {"error": run.error},
    }


@router.get("/runs/status.json")
async def run_status(request: Request, admin: Admin, session: SessionDep) -> JSONResponse:
    """Live counters for the configuration page's polling: the runs named by `ids`."""
    admin.require(Permission.VIEW)
    found = []
    for raw in request.query_params.get("ids", "").split(",")[:MAX_POLLED]:
        try:
            run = await scraper.get_run_or_raise(session, admin.tenant_id, uuid.UUID(raw))
        except (ValueError, AppError):
            continue
        found.append(_run_item(run, admin.locale))
    return JSONResponse({"items": found}, headers={"Cache-Control": "no-store"})


@router.get("/{config_id}", response_class=HTMLResponse)
async def detail(config_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    config = await scraper.get_or_raise(session, admin.tenant_id, config_id)
    runs, total = await scraper.list_runs(session, admin.tenant_id, config_id, limit=RUNS_SHOWN, offset=0)
    kb = await knowledge.get_or_raise(session, admin.tenant_id, config.knowledge_base_id)
    return render(
        request,
        "scraper_config.html",
        config=scraper.to_schema(config),
        kb=kb,
        runs=runs,
        total=total,
        counters=COUNTERS,
        finished=scraper.FINISHED,
        error=None,
    )


@router.post("/{config_id}/runs")
async def start_run(
    config_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep, settings: SettingsDep
) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    _enabled(settings)
    try:
        async with session.begin_nested():
            run = await scraper.start_run(session, admin.tenant_id, config_id)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        config = await scraper.get_or_raise(session, admin.tenant_id, config_id)
        runs, total = await scraper.list_runs(session, admin.tenant_id, config_id, limit=RUNS_SHOWN, offset=0)
        kb = await knowledge.get_or_raise(session, admin.tenant_id, config.knowledge_base_id)
        return render(
            request,
            "scraper_config.html",
            exc.status_code,
            config=scraper.to_schema(config),
            kb=kb,
            runs=runs,
            total=total,
            counters=COUNTERS,
            finished=scraper.FINISHED,
            error=exc.message,
        )
    await audit.record(
        session, actor=admin.label, action="scraper_run.started", tenant_id=admin.tenant_id, target=run
    )
    return redirect(tenant_url(admin, f"/scraper/{config_id}"), "scraper.started")


@router.post("/runs/{run_id}/cancel")
async def cancel_run(run_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    run = await scraper.cancel_run(session, admin.tenant_id, run_id)
    await audit.record(
        session, actor=admin.label, action="scraper_run.cancelled", tenant_id=admin.tenant_id, target=run
    )
    return redirect(tenant_url(admin, f"/scraper/{run.config_id}"), "scraper.cancelled")


@router.post("/{config_id}/delete")
async def delete(config_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    config = await scraper.delete(session, admin.tenant_id, config_id)
    await audit.record(
        session,
        actor=admin.label,
        action="scraper_config.deleted",
        tenant_id=admin.tenant_id,
        target=config,
        details={"name": config.name},
    )
    return redirect(tenant_url(admin, "/scraper"), "flash.deleted")
