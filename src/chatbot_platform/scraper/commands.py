"""`cbp scrape run` and `cbp scrape url`: crawl in the foreground with a progress bar, or one page."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit
from chatbot_platform.kit.repository import owner_of
from chatbot_platform.models import KnowledgeBase, ScraperConfig, ScraperRunStatus
from chatbot_platform.scraper import tasks  # noqa: F401 - registers the job for `cbp worker`

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services
    from chatbot_platform.scraper.crawler import Counters

scrape_app = typer.Typer(help="Website scraper.", no_args_is_help=True)


def _uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise fail(f"{name} must be a UUID, got {value!r}", 2) from None


async def _with_services(work: Any) -> Any:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.runtime import Services

    settings = settings_or_exit()
    database = await Database.open(settings)
    services: Services = await Services.start(settings, database)
    try:
        return await work(services)
    finally:
        await services.close()
        await database.close()


@scrape_app.command("run")
def scrape_run(config_id: Annotated[str, typer.Argument(help="The scraper configuration's id.")]) -> None:
    """Crawl a configuration now, in this process, with live progress; pages are queued for ingestion."""
    from chatbot_platform.scraper import runner, service

    parsed = _uuid(config_id, "CONFIG_ID")

    async def work(services: Services) -> dict[str, Any]:
        async with services.database.transaction() as session:
            tenant_id = await owner_of(session, ScraperConfig, parsed)
            if tenant_id is None:
                raise fail(f"no scraper configuration {config_id}")
            run = await service.start_run(session, tenant_id, parsed, trigger="cli", enqueue=False)
        with Progress(
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out,
        ) as bar:
            task_id = bar.add_task("starting", total=None)

            async def show(counters: Counters) -> None:
                bar.update(
                    task_id,
                    total=counters.found,
                    completed=counters.processed,
                    description=_describe(counters),
                )

            status = await runner.execute_run(services, tenant_id, run.id, on_progress=show)
        async with services.database.transaction() as session:
            finished = await service.get_run_or_raise(session, tenant_id, run.id)
        return {
            "run_id": str(run.id),
            "status": status,
            **{
                name: getattr(finished, name)
                for name in ("found", "fetched", "skipped", "failed", "ingested", "vanished", "removed")
            },
            "error": finished.error,
        }

    summary = run_async(_with_services(work))
    out.print_json(json.dumps(summary))
    if summary["status"] != ScraperRunStatus.COMPLETED.value:
        raise typer.Exit(1)


def _describe(counters: Counters) -> str:
    return (
        f"found {counters.found} · fetched {counters.fetched} · skipped {counters.skipped} · "
        f"failed {counters.failed} · ingested {counters.ingested}"
    )


@scrape_app.command("url")
def scrape_url(
    url: Annotated[str, typer.Argument(help="The page to scrape.")],
    kb: Annotated[str, typer.Option(help="Target knowledge base id.")],
    render_js: Annotated[
        bool, typer.Option("--render-js", help="Render the page in headless Chromium.")
    ] = False,
) -> None:
    """Scrape one page into a knowledge base (external id = its canonical URL)."""
    from pydantic import ValidationError

    from chatbot_platform.kit.cli import validation_message
    from chatbot_platform.scraper.schemas import ScrapeUrl
    from chatbot_platform.scraper.single import scrape_one

    kb_id = _uuid(kb, "--kb")
    try:
        data = ScrapeUrl.model_validate({"url": url, "knowledge_base_id": kb_id, "render_js": render_js})
    except ValidationError as exc:
        raise fail(validation_message(exc), 2) from None

    async def work(services: Services) -> dict[str, Any]:
        async with services.database.transaction() as session:
            tenant_id = await owner_of(session, KnowledgeBase, kb_id)
        if tenant_id is None:
            raise fail(f"no knowledge base {kb}")
        page = await scrape_one(services, tenant_id, data)
        return page.model_dump(mode="json")

    out.print_json(json.dumps(run_async(_with_services(work))))
