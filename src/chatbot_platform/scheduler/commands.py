"""`cbp scheduler`: run the periodic tasks (scheduled scrapes, backups, …) on one or more nodes."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Annotated

import typer

from chatbot_platform.kit.cli import out, run_async, settings_or_exit


def scheduler(
    interval: Annotated[float, typer.Option(min=1.0, help="Seconds between two checks for due work.")] = 60.0,
    once: Annotated[
        bool, typer.Option("--once", help="Check once, print what was started, and exit.")
    ] = False,
) -> None:
    """Start due work (scheduled scrapes, backups) every --interval seconds; safe to run on several nodes."""
    from chatbot_platform.kit.db import Database
    from chatbot_platform.ops.observability import setup_observability
    from chatbot_platform.runtime import Services
    from chatbot_platform.scheduler.registry import load_periodic_tasks
    from chatbot_platform.scheduler.service import run_forever, tick

    settings = settings_or_exit()
    setup_observability(settings)

    async def run() -> None:
        database = await Database.open(settings)
        services = await Services.start(settings, database)
        try:
            if once:
                report = await tick(services)
                out.print_json(json.dumps({"started": report.started, "failed": report.failed}))
                if report.failed:
                    raise typer.Exit(1)
                return
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            names = ", ".join(task.name for task in load_periodic_tasks())
            out.print(f"scheduler running ({names}) every {interval:g}s; Ctrl+C to stop")
            await run_forever(services, interval=interval, stop=stop)
        finally:
            await services.close()
            await database.close()

    run_async(run())
