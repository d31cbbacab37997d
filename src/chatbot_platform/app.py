"""The application factory and its lifespan. Nothing here does I/O at import time."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chatbot_platform import __version__
from chatbot_platform.admin.app import create_admin_app
from chatbot_platform.analytics.endpoints import router as analytics_router
from chatbot_platform.assistants.endpoints import router as assistants_router
from chatbot_platform.conversations.endpoints import router as conversations_router
from chatbot_platform.desk.endpoints import router as desk_router
from chatbot_platform.desk.public import router as desk_public_router
from chatbot_platform.ingestion.endpoints import router as documents_router
from chatbot_platform.kit.admin_token import resolve_admin_token, token_path
from chatbot_platform.kit.db import Database
from chatbot_platform.kit.http import RequestContextMiddleware, install_error_handlers, use_envelope
from chatbot_platform.kit.jobs import QUEUE_NAMES
from chatbot_platform.knowledge.endpoints import router as knowledge_router
from chatbot_platform.openai_compat.endpoints import router as openai_router
from chatbot_platform.openai_compat.errors import PREFIXES as OPENAI_PREFIXES
from chatbot_platform.openai_compat.errors import openai_envelope
from chatbot_platform.ops.endpoints import router as ops_router
from chatbot_platform.ops.wiring import install_operations
from chatbot_platform.retrieval.endpoints import router as retrieval_router
from chatbot_platform.runtime import Services
from chatbot_platform.scraper.endpoints import router as scraper_router
from chatbot_platform.settings import Settings, load_settings
from chatbot_platform.tenants.endpoints import router as tenants_router
from chatbot_platform.widget.assets import router as widget_assets_router
from chatbot_platform.widget.cors import WidgetCorsMiddleware
from chatbot_platform.widget.endpoints import router as widget_router
from chatbot_platform.widget.public import router as widget_public_router


def announce_admin_token(settings: Settings) -> str:
    token, generated = resolve_admin_token(settings)
    if generated:
        sys.stderr.write(
            f"\n  Generated the development admin token (stored in {token_path(settings)}):\n\n"
            f"    ADMIN_TOKEN={token}\n\n"
        )
    elif settings.app.admin_token is None:
        sys.stderr.write(f"\n  Development admin token: see {token_path(settings)}\n\n")
    return token


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.admin_token = announce_admin_token(settings)
        database = await Database.open(settings)
        app.state.database = database
        workers = QUEUE_NAMES if settings.queue.workers_in_process else ()
        try:
            app.state.services = await Services.start(settings, database, worker_queues=workers)
        except BaseException:
            await database.close()
            raise
        # What startup built lives as long as the process: kept out of the collector's full passes,
        # which otherwise stalled every request in flight for 0.15-0.2 s every ten seconds under load.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await app.state.services.close()
            await database.close()

    app = FastAPI(
        title=settings.app.name,
        version=__version__,
        description="Multi-tenant RAG chatbot platform with an OpenAI-compatible API.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_operations(app, settings)
    app.add_middleware(WidgetCorsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    use_envelope(app, OPENAI_PREFIXES, openai_envelope)
    routers = (
        ops_router,
        tenants_router,
        knowledge_router,
        documents_router,
        retrieval_router,
        scraper_router,
        assistants_router,
        conversations_router,
        analytics_router,
        desk_router,
        openai_router,
        widget_router,
        widget_public_router,
        desk_public_router,
        widget_assets_router,
    )
    for router in routers:
        app.include_router(router)
    app.mount("/admin", create_admin_app(app))
    return app
