"""Scraper jobs on the `scraping` queue (SCRAPING_TIMEOUT)."""

from __future__ import annotations

import uuid

from saq.job import Job

from chatbot_platform.kit.jobs import JobContext, task
from chatbot_platform.scraper.service import RUN_TASK

MAX_REASON_CHARS = 500


async def _mark_failed(ctx: JobContext, job: Job) -> None:
    from chatbot_platform.scraper import runner

    kwargs = job.kwargs or {}
    reason = (job.error or "unknown error").strip().splitlines()[-1][:MAX_REASON_CHARS]
    await runner.fail_run(
        ctx["services"],
        uuid.UUID(str(kwargs["tenant_id"])),
        uuid.UUID(str(kwargs["run_id"])),
        f"The crawl failed: {reason}",
    )


@task(RUN_TASK, queue="scraping", timeout_setting="scraping_timeout", retries=1, on_failure=_mark_failed)
async def run_scrape(ctx: JobContext, *, tenant_id: str, run_id: str) -> str:
    from chatbot_platform.scraper import runner  # the crawler (and Playwright) load only in workers

    return await runner.execute_run(ctx["services"], uuid.UUID(tenant_id), uuid.UUID(run_id))
