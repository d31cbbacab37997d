"""Reads of chunk rows for ranking and results: details with filters, neighbours, generations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.db import Database
from chatbot_platform.retrieval.schemas import Neighbor, SearchFilters, SearchResult

_DETAILS = text(
    """
    SELECT c.id, c.document_id, c.knowledge_base_id, c.ordinal, c.text, c.heading_path, c.page, c.anchor,
           d.title, d.external_id, d.source_url
    FROM chunks c JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id
    WHERE c.tenant_id = :tenant_id AND c.id = ANY(CAST(:ids AS uuid[]))
      AND (CAST(:document_ids AS uuid[]) IS NULL OR d.id = ANY(CAST(:document_ids AS uuid[])))
      AND (CAST(:external_ids AS text[]) IS NULL OR d.external_id = ANY(CAST(:external_ids AS text[])))
      AND (CAST(:metadata AS jsonb) IS NULL OR d.metadata @> CAST(:metadata AS jsonb))
    """
)
_NEIGHBORS = text(
    """
    SELECT c.id, c.document_id, c.ordinal, c.text, h.hit_id
    FROM unnest(CAST(:hit_ids AS uuid[]), CAST(:document_ids AS uuid[]), CAST(:ordinals AS int[]))
         AS h(hit_id, document_id, ordinal)
    JOIN chunks c ON c.document_id = h.document_id
                 AND c.ordinal BETWEEN h.ordinal - :radius AND h.ordinal + :radius
                 AND c.ordinal <> h.ordinal
    WHERE c.tenant_id = :tenant_id
    ORDER BY h.hit_id, c.ordinal
    """
)
_GENERATIONS = text(
    """
    SELECT knowledge_base_id, generation FROM kb_search_stats
    WHERE tenant_id = :tenant_id AND knowledge_base_id = ANY(CAST(:kb_ids AS uuid[]))
    """
)


@dataclass(frozen=True)
class Passage:
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    ordinal: int
    text: str
    heading_path: list[str]
    page: int | None
    anchor: str | None
    title: str
    external_id: str | None
    source_url: str | None

    @property
    def url(self) -> str | None:
        """A deep link where the source has one: the page of a PDF, the section of a web page."""
        if not self.source_url:
            return None
        if self.anchor and "#" not in self.source_url:
            return f"{self.source_url}#{self.anchor}"
        if self.page and "#" not in self.source_url:
            return f"{self.source_url}#page={self.page}"
        return self.source_url


async def details(
    database: Database, tenant_id: uuid.UUID, chunk_ids: Sequence[uuid.UUID], filters: SearchFilters | None
) -> dict[uuid.UUID, Passage]:
    """The chunks among `chunk_ids` that pass the filters, with their document's fields."""
    if not chunk_ids:
        return {}
    params = {
        "tenant_id": tenant_id,
        "ids": list(chunk_ids),
        "document_ids": filters.document_ids if filters else None,
        "external_ids": filters.external_ids if filters else None,
        "metadata": json.dumps(filters.metadata) if filters and filters.metadata else None,
    }
    async with database.reader() as conn:
        rows = await conn.execute(_DETAILS, params)
        return {
            row.id: Passage(
                chunk_id=row.id,
                document_id=row.document_id,
                knowledge_base_id=row.knowledge_base_id,
                ordinal=row.ordinal,
                text=row.text,
                heading_path=list(row.heading_path or []),
                page=row.page,
                anchor=row.anchor,
                title=row.title,
                external_id=row.external_id,
                source_url=row.source_url,
            )
            for row in rows
        }


async def neighbors(
    database: Database, tenant_id: uuid.UUID, hits: Sequence[Passage], radius: int
) -> dict[uuid.UUID, list[Neighbor]]:
    """Up to `radius` chunks before and after each hit in its document, in document order."""
    if radius <= 0 or not hits:
        return {}
    params = {
        "tenant_id": tenant_id,
        "hit_ids": [h.chunk_id for h in hits],
        "document_ids": [h.document_id for h in hits],
        "ordinals": [h.ordinal for h in hits],
        "radius": radius,
    }
    found: dict[uuid.UUID, list[Neighbor]] = {}
    async with database.reader() as conn:
        for row in await conn.execute(_NEIGHBORS, params):
            found.setdefault(row.hit_id, []).append(
                Neighbor(chunk_id=row.id, ordinal=row.ordinal, text=row.text)
            )
    return found


async def generations(
    session: AsyncSession, tenant_id: uuid.UUID, kb_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Each knowledge base's generation: incremented by the database on every change of its chunks."""
    if not kb_ids:
        return {}
    rows = await session.execute(_GENERATIONS, {"tenant_id": tenant_id, "kb_ids": list(kb_ids)})
    return {row.knowledge_base_id: int(row.generation) for row in rows}


def result(passage: Passage, score: float, around: list[Neighbor]) -> SearchResult:
    return SearchResult(
        chunk_id=passage.chunk_id,
        document_id=passage.document_id,
        external_id=passage.external_id,
        knowledge_base_id=passage.knowledge_base_id,
        title=passage.title,
        url=passage.url,
        heading_path=passage.heading_path,
        page=passage.page,
        text=passage.text,
        score=round(score, 6),
        neighbors=around,
    )
