from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import ScraperConfig, ScraperPage, ScraperRun, ScraperRunStatus

ACTIVE_RUN = (ScraperRunStatus.QUEUED, ScraperRunStatus.RUNNING)

# One statement records many pages: inserted, or updated keeping what a None leaves alone.
_UPSERT_PAGES = text(
    """
    INSERT INTO scraper_pages (id, tenant_id, config_id, url, kind, status, document_id, content_hash,
                               etag, last_modified, links, error, last_run_id, last_fetched_at,
                               created_at, updated_at)
    SELECT gen_random_uuid(), :tenant_id, :config_id, r.url, COALESCE(r.kind, 'page'), r.status,
           r.document_id, r.content_hash, r.etag, r.last_modified, COALESCE(r.links, '[]'::jsonb),
           r.error, :run_id, now(), now(), now()
    FROM jsonb_to_recordset(:rows) AS r(url text, kind text, status text, document_id uuid,
                                        content_hash text, etag text, last_modified text, links jsonb,
                                        error text)
    ON CONFLICT (config_id, url) DO UPDATE SET
        kind = COALESCE(EXCLUDED.kind, scraper_pages.kind),
        status = EXCLUDED.status,
        document_id = COALESCE(EXCLUDED.document_id, scraper_pages.document_id),
        content_hash = COALESCE(EXCLUDED.content_hash, scraper_pages.content_hash),
        etag = COALESCE(EXCLUDED.etag, scraper_pages.etag),
        last_modified = COALESCE(EXCLUDED.last_modified, scraper_pages.last_modified),
        links = CASE WHEN EXCLUDED.links = '[]'::jsonb AND scraper_pages.kind <> 'document'
                     THEN scraper_pages.links ELSE EXCLUDED.links END,
        error = EXCLUDED.error,
        last_run_id = EXCLUDED.last_run_id,
        last_fetched_at = now(),
        updated_at = now()
    WHERE scraper_pages.tenant_id = :tenant_id
    """
).bindparams(bindparam("rows", type_=JSONB))


class ScraperConfigRepo(TenantRepository[ScraperConfig]):
    model = ScraperConfig


class ScraperRunRepo(TenantRepository[ScraperRun]):
    model = ScraperRun

    async def active_for(self, config_id: uuid.UUID) -> ScraperRun | None:
        return await self.first(ScraperRun.config_id == config_id, ScraperRun.status.in_(ACTIVE_RUN))


class ScraperPageRepo(TenantRepository[ScraperPage]):
    model = ScraperPage

    async def upsert(self, config_id: uuid.UUID, run_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        params = {"tenant_id": self.tenant_id, "config_id": config_id, "run_id": run_id, "rows": list(rows)}
        await self.session.execute(_UPSERT_PAGES, params)

    async def mark_unseen_vanished(self, config_id: uuid.UUID, run_id: uuid.UUID) -> int:
        """Pages not met by this (complete) run are gone from the site."""
        return await self.update_where(
            {"status": "vanished", "updated_at": _now()},
            ScraperPage.config_id == config_id,
            ScraperPage.status == "active",
            ScraperPage.last_run_id.is_distinct_from(run_id),
        )

    async def vanished_with_documents(self, config_id: uuid.UUID) -> list[ScraperPage]:
        return await self.list(
            ScraperPage.config_id == config_id,
            ScraperPage.status == "vanished",
            ScraperPage.document_id.is_not(None),
        )


def _now() -> datetime:
    from chatbot_platform.kit.clock import utcnow

    return utcnow()
