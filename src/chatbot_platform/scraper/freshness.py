"""What a run remembers between runs: validators, content hashes and links of every page.

`RunRecorder` is the crawler's sink backed by the database: unchanged pages are batched into one
upsert per progress tick, new or changed content goes through the ingestion service (external_id
= canonical URL, so a changed page replaces its document's chunks), and pages gone from the site
are marked vanished and, if the configuration says so, their documents deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from chatbot_platform.ingestion import service as ingestion
from chatbot_platform.ingestion.errors import DocumentNotFound
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.models import DocumentSource, ScraperPage, ScraperRun, ScraperRunStatus
from chatbot_platform.scraper.crawler import Counters, Outcome, PageContent, Previous
from chatbot_platform.scraper.repository import ScraperPageRepo, ScraperRunRepo

if TYPE_CHECKING:
    from chatbot_platform.runtime import Services

MAX_ERROR_CHARS = 2000


class RunRecorder:
    def __init__(
        self,
        services: Services,
        tenant_id: uuid.UUID,
        *,
        config_id: uuid.UUID,
        run_id: uuid.UUID,
        knowledge_base_id: uuid.UUID,
        previous: dict[str, Previous],
    ) -> None:
        self.services = services
        self.tenant_id = tenant_id
        self.config_id = config_id
        self.run_id = run_id
        self.knowledge_base_id = knowledge_base_id
        self._previous = previous
        self.pending: dict[str, dict[str, Any]] = {}
        self.gone_count = 0
        self.hook: Callable[[Counters], Awaitable[None]] | None = None

    @classmethod
    async def load(
        cls,
        services: Services,
        tenant_id: uuid.UUID,
        *,
        config_id: uuid.UUID,
        run_id: uuid.UUID,
        knowledge_base_id: uuid.UUID,
    ) -> RunRecorder:
        async with services.database.transaction() as session:
            rows = await ScraperPageRepo(session, tenant_id).values(
                ScraperPage.url,
                ScraperPage.kind,
                ScraperPage.document_id,
                ScraperPage.content_hash,
                ScraperPage.etag,
                ScraperPage.last_modified,
                ScraperPage.links,
                where=[ScraperPage.config_id == config_id, ScraperPage.status != "failed"],
            )
        previous = {row.url: found for row in rows if (found := _previous(row)) is not None}
        return cls(
            services,
            tenant_id,
            config_id=config_id,
            run_id=run_id,
            knowledge_base_id=knowledge_base_id,
            previous=previous,
        )

    # -- the crawler's sink ---------------------------------------------------------------------

    def previous(self, url: str) -> Previous | None:
        return self._previous.get(url)

    def known_hashes(self) -> dict[str, str]:
        return {
            p.content_hash: url
            for url, p in self._previous.items()
            if p.content_hash and p.kind != "links_only"
        }

    async def seen(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        links: list[str] | None,
        kind: str | None = None,
    ) -> None:
        self.pending[url] = _row(
            url, "active", kind=kind, etag=etag, last_modified=last_modified, links=links
        )

    async def store(self, content: PageContent) -> bool:
        source = DocumentSource.WEB_PAGE if content.kind == "page" else DocumentSource.LINKED_FILE
        async with self.services.database.transaction() as session:
            accepted = await ingestion.accept(
                session,
                self.services.files,
                self.tenant_id,
                knowledge_base_id=self.knowledge_base_id,
                title=content.title,
                content=ingestion.Content(
                    source=source, filename=content.filename, data=content.data, mime_type=content.mime_type
                ),
                external_id=content.url[:500],
                metadata={"url": content.url, "scraper_config_id": str(self.config_id)},
                knowledge_base_checked=True,
            )
            accepted.document.source_url = content.url  # flushed with the commit
            row = _row(
                content.url,
                "active",
                kind=content.kind,
                document_id=str(accepted.document.id),
                content_hash=content.content_hash,
                etag=content.etag,
                last_modified=content.last_modified,
                links=content.links,
            )
            await ScraperPageRepo(session, self.tenant_id).upsert(self.config_id, self.run_id, [row])
        self.pending.pop(content.url, None)
        return not accepted.unchanged

    async def failed(self, url: str, reason: str) -> None:
        self.pending[url] = _row(url, "failed", error=reason[:MAX_ERROR_CHARS])

    async def gone(self, url: str) -> None:
        self.gone_count += 1
        self.pending[url] = _row(url, "vanished", error="The page is gone (HTTP 404/410).")

    async def progress(self, counters: Counters) -> bool:
        """Flush the batched page rows and the run's counters; True when a cancel was asked for."""
        rows, self.pending = list(self.pending.values()), {}
        async with self.services.database.transaction() as session:
            await ScraperPageRepo(session, self.tenant_id).upsert(self.config_id, self.run_id, rows)
            runs = ScraperRunRepo(session, self.tenant_id)
            await runs.update_where(_counter_values(counters), ScraperRun.id == self.run_id)
            run = await runs.get(self.run_id)
        if self.hook is not None:
            await self.hook(counters)
        return run is None or run.cancel_requested

    # -- the end of a run -----------------------------------------------------------------------

    async def finish(
        self, outcome: Outcome, counters: Counters, *, remove_vanished: bool
    ) -> ScraperRunStatus:
        await self.progress(counters)
        counters.vanished = self.gone_count
        async with self.services.database.transaction() as session:
            pages = ScraperPageRepo(session, self.tenant_id)
            if outcome.complete:
                counters.vanished += await pages.mark_unseen_vanished(self.config_id, self.run_id)
            if remove_vanished:
                for page in await pages.vanished_with_documents(self.config_id):
                    if page.document_id is not None:
                        try:
                            await ingestion.delete(session, self.tenant_id, page.document_id)
                        except DocumentNotFound:
                            continue
                        counters.removed += 1
            status = ScraperRunStatus.CANCELLED if outcome.cancelled else ScraperRunStatus.COMPLETED
            values = _counter_values(counters) | {
                "status": status,
                "finished_at": utcnow(),
                "error": "\n".join(outcome.errors)[:MAX_ERROR_CHARS] or None,
            }
            await ScraperRunRepo(session, self.tenant_id).update_where(values, ScraperRun.id == self.run_id)
        return status


def _counter_values(counters: Counters) -> dict[str, Any]:
    stored = {name: value for name, value in asdict(counters).items() if name != "processed"}
    return {**stored, "updated_at": utcnow()}


def _row(url: str, status: str, **values: Any) -> dict[str, Any]:
    return {
        "url": url,
        "status": status,
        "kind": None,
        "document_id": None,
        "content_hash": None,
        "etag": None,
        "last_modified": None,
        "links": None,
        "error": None,
    } | values


def _previous(row: Any) -> Previous | None:
    if row.kind != "links_only" and row.document_id is None and row.content_hash is not None:
        # Its document was removed (vanished, or deleted by a user): fetch and ingest it again.
        return None
    return Previous(row.content_hash, row.etag, row.last_modified, list(row.links or []), row.kind)
