"""`/up` for load balancers, `/health` and `/metrics` for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.deps import DatabaseDep, SettingsDep
from chatbot_platform.kit.errors import NotFound, Unauthorized
from chatbot_platform.kit.security import constant_time_equals
from chatbot_platform.ops import metrics
from chatbot_platform.ops.health import run_checks
from chatbot_platform.settings import Settings

router = APIRouter(tags=["operations"])


@router.get("/up")
async def up() -> dict[str, str]:
    """Liveness: the process answers. Always open."""
    return {"status": "up"}


@router.get("/health", responses={503: {"description": "A dependency is unhealthy."}})
async def health(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    x_health_secret: Annotated[str | None, Header()] = None,
    secret: Annotated[str | None, Query(description="Alternative to the X-Health-Secret header.")] = None,
) -> JSONResponse:
    """Readiness: database, Redis (when configured), storage, queue and vector store; 503 when any fails."""
    if not settings.security.health_check_enabled:
        raise NotFound("Health checks are disabled.")
    _require_secret(settings, x_health_secret or secret)
    checks = await run_checks(database, getattr(request.app.state, "services", None))
    healthy = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {
        "status": "healthy" if healthy else "unhealthy",
        "checks": checks,
        "timestamp": utcnow().isoformat(),
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics(
    request: Request,
    settings: SettingsDep,
    x_health_secret: Annotated[str | None, Header()] = None,
    secret: Annotated[str | None, Query(description="Alternative to the X-Health-Secret header.")] = None,
) -> Response:
    """Prometheus metrics of every worker process, with queue depth and failed jobs read now."""
    if not settings.features.metrics_enabled:
        raise NotFound("Metrics are disabled.")
    _require_secret(settings, x_health_secret or secret)
    extra = None
    services = getattr(request.app.state, "services", None)
    if services is not None and services.queues.connected:
        from chatbot_platform.ops.queues import snapshot_with_failed

        try:
            states = await snapshot_with_failed(services.queues, services.database, oldest=False)
        except Exception:  # metrics still answer; the queue series are missing until it recovers
            states = []
        extra = metrics.queue_registry(
            {s.name: {"waiting": s.waiting, "running": s.running, "scheduled": s.scheduled} for s in states},
            {s.name: s.failed for s in states},
        )
    return Response(metrics.exposition(extra), media_type=metrics.CONTENT_TYPE_LATEST)


def _require_secret(settings: Settings, presented: str | None) -> None:
    expected = settings.security.health_check_secret
    if expected is not None and not constant_time_equals(presented or "", expected.get_secret_value()):
        raise Unauthorized("Missing or invalid health check secret.")
