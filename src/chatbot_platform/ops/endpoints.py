"""`/up` for load balancers and `/health` for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.deps import DatabaseDep, SettingsDep
from chatbot_platform.kit.errors import NotFound, Unauthorized
from chatbot_platform.kit.security import constant_time_equals
from chatbot_platform.ops.health import run_checks

router = APIRouter(tags=["operations"])


@router.get("/up")
async def up() -> dict[str, str]:
    """Liveness: the process answers. Always open."""
    return {"status": "up"}


@router.get("/health", responses={503: {"description": "A dependency is unhealthy."}})
async def health(
    database: DatabaseDep,
    settings: SettingsDep,
    x_health_secret: Annotated[str | None, Header()] = None,
    secret: Annotated[str | None, Query(description="Alternative to the X-Health-Secret header.")] = None,
) -> JSONResponse:
    """Readiness with one entry per dependency; 503 when any is unhealthy."""
    if not settings.security.health_check_enabled:
        raise NotFound("Health checks are disabled.")
    expected = settings.security.health_check_secret
    if expected is not None:
        presented = x_health_secret or secret or ""
        if not constant_time_equals(presented, expected.get_secret_value()):
            raise Unauthorized("Missing or invalid health check secret.")
    checks = await run_checks(database)
    healthy = all(check["ok"] for check in checks.values())
    body: dict[str, Any] = {
        "status": "healthy" if healthy else "unhealthy",
        "checks": checks,
        "timestamp": utcnow().isoformat(),
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
