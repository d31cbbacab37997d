"""A tenant's desk settings (hours, handoff rules, notifications, retention). Services never commit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.desk.repository import DeskSettingsRepo
from chatbot_platform.desk.schemas import DeskSettingsUpdate, DeskSettingsView
from chatbot_platform.kit.repository import scan_across_tenants
from chatbot_platform.models import DeskSettings

DEFAULT_QUEUE_TIMEOUT_SECONDS = 300
DEFAULT_DONT_KNOW_THRESHOLD = 2
CLEARABLE = {"webhook_url", "webhook_secret", "timeout_message", "retention_days"}


def defaults() -> DeskSettings:
    """Settings of a tenant that never changed them (not stored)."""
    return DeskSettings(
        timezone="UTC",
        schedule={},
        queue_timeout_seconds=DEFAULT_QUEUE_TIMEOUT_SECONDS,
        dont_know_threshold=DEFAULT_DONT_KNOW_THRESHOLD,
        notify_emails=[],
        webhook_url=None,
        webhook_secret=None,
        timeout_message=None,
        retention_days=None,
        last_purged_at=None,
    )


async def get(session: AsyncSession, tenant_id: uuid.UUID) -> DeskSettings:
    stored = await DeskSettingsRepo(session, tenant_id).current()
    return stored if stored is not None else defaults()


async def update(session: AsyncSession, tenant_id: uuid.UUID, data: DeskSettingsUpdate) -> DeskSettings:
    repo = DeskSettingsRepo(session, tenant_id)
    row = await repo.current()
    if row is None:
        row = await repo.add(defaults())
    for name, value in data.model_dump(exclude_unset=True, mode="json").items():
        if value is not None or name in CLEARABLE:
            setattr(row, name, value)
    return await repo.save(row)


def view(row: DeskSettings) -> DeskSettingsView:
    return DeskSettingsView(
        timezone=row.timezone,
        schedule=row.schedule,
        queue_timeout_seconds=row.queue_timeout_seconds,
        dont_know_threshold=row.dont_know_threshold,
        notify_emails=row.notify_emails,
        webhook_url=row.webhook_url,
        webhook_secret_set=bool(row.webhook_secret),
        timeout_message=row.timeout_message,
        retention_days=row.retention_days,
        last_purged_at=row.last_purged_at,
    )


PURGE_EVERY = timedelta(hours=1)


async def due_for_purge(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Tenants with a retention period whose last purge is older than PURGE_EVERY (scheduler only)."""
    rows = await scan_across_tenants(
        session,
        DeskSettings,
        DeskSettings.retention_days.is_not(None),
        or_(DeskSettings.last_purged_at.is_(None), DeskSettings.last_purged_at < now - PURGE_EVERY),
    )
    return [row.tenant_id for row in rows]


async def claim_purge(session: AsyncSession, tenant_id: uuid.UUID, now: datetime) -> int | None:
    """Mark the tenant purged now, atomically; its retention days when this caller won the claim."""
    repo = DeskSettingsRepo(session, tenant_id)
    claimed = await repo.update_where(
        {"last_purged_at": now},
        DeskSettings.retention_days.is_not(None),
        or_(DeskSettings.last_purged_at.is_(None), DeskSettings.last_purged_at < now - PURGE_EVERY),
    )
    if not claimed:
        return None
    row = await repo.current()
    return row.retention_days if row is not None else None
