"""Chunk rows with their full-text vector, written in the knowledge base's language.

The tsvector weights headings (the document title and the section path) above body text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

HEADING_SEPARATOR = "\x1f"

_INSERT_CHUNKS = text(
    """
    INSERT INTO chunks (id, tenant_id, knowledge_base_id, document_id, ordinal, text, heading_path, page,
                        anchor, token_count, content_hash, fts_config, tsv, created_at)
    SELECT r.id, :tenant_id, :kb_id, :document_id, r.ordinal, r.body,
           CASE WHEN r.headings = '' THEN ARRAY[]::text[] ELSE string_to_array(r.headings, :sep) END,
           r.page, r.anchor, r.tokens, r.hash, CAST(:language AS regconfig),
           setweight(to_tsvector(CAST(:language AS regconfig),
                                 :title || ' ' || replace(r.headings, :sep, ' ')), 'A')
             || setweight(to_tsvector(CAST(:language AS regconfig), r.body), 'D'),
           now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:ordinals AS int[]), CAST(:bodies AS text[]),
                CAST(:headings AS text[]), CAST(:pages AS int[]), CAST(:anchors AS text[]),
                CAST(:tokens AS int[]), CAST(:hashes AS text[]))
         AS r(id, ordinal, body, headings, page, anchor, tokens, hash)
    """
)

_DELETE_CHUNKS = text("DELETE FROM chunks WHERE tenant_id = :tenant_id AND document_id = :document_id")

_RELANGUAGE = text(
    """
    UPDATE chunks c SET fts_config = CAST(:language AS regconfig),
        tsv = setweight(to_tsvector(CAST(:language AS regconfig),
                                    d.title || ' ' || array_to_string(c.heading_path, ' ')), 'A')
              || setweight(to_tsvector(CAST(:language AS regconfig), c.text), 'D')
    FROM documents d
    WHERE c.tenant_id = :tenant_id AND c.knowledge_base_id = :kb_id AND d.id = c.document_id
    """
)


@dataclass(frozen=True)
class ChunkRow:
    id: uuid.UUID
    ordinal: int
    text: str
    heading_path: Sequence[str]
    page: int | None
    anchor: str | None
    token_count: int
    content_hash: str


async def replace_document_chunks(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    knowledge_base_id: uuid.UUID,
    document_id: uuid.UUID,
    title: str,
    language: str,
    rows: Sequence[ChunkRow],
) -> None:
    """Delete the document's chunks and insert `rows`, in the caller's transaction (atomic swap)."""
    await session.execute(_DELETE_CHUNKS, {"tenant_id": tenant_id, "document_id": document_id})
    if not rows:
        return
    await session.execute(
        _INSERT_CHUNKS,
        {
            "tenant_id": tenant_id,
            "kb_id": knowledge_base_id,
            "document_id": document_id,
            "title": title,
            "language": language,
            "sep": HEADING_SEPARATOR,
            "ids": [r.id for r in rows],
            "ordinals": [r.ordinal for r in rows],
            "bodies": [r.text for r in rows],
            "headings": [
                HEADING_SEPARATOR.join(h.replace(HEADING_SEPARATOR, " ") for h in r.heading_path)
                for r in rows
            ],
            "pages": [r.page for r in rows],
            "anchors": [r.anchor for r in rows],
            "tokens": [r.token_count for r in rows],
            "hashes": [r.content_hash for r in rows],
        },
    )


async def reindex_language(
    session: AsyncSession, *, tenant_id: uuid.UUID, knowledge_base_id: uuid.UUID, language: str
) -> None:
    """Rewrite the full-text vectors of a knowledge base after its language changed."""
    await session.execute(
        _RELANGUAGE, {"tenant_id": tenant_id, "kb_id": knowledge_base_id, "language": language}
    )
