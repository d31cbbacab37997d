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
    SELECT r.id, :tenant_id, r.kb_id, r.document_id, r.ordinal, r.body,
           CASE WHEN r.headings = '' THEN ARRAY[]::text[] ELSE string_to_array(r.headings, :sep) END,
           r.page, r.anchor, r.tokens, r.hash, CAST(r.language AS regconfig),
           setweight(to_tsvector(CAST(r.language AS regconfig),
                                 r.title || ' ' || replace(r.headings, :sep, ' ')), 'A')
             || setweight(to_tsvector(CAST(r.language AS regconfig), r.body), 'D'),
           now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:kb_ids AS uuid[]), CAST(:document_ids AS uuid[]),
                CAST(:titles AS text[]), CAST(:languages AS text[]), CAST(:ordinals AS int[]),
                CAST(:bodies AS text[]), CAST(:headings AS text[]), CAST(:pages AS int[]),
                CAST(:anchors AS text[]), CAST(:tokens AS int[]), CAST(:hashes AS text[]))
         AS r(id, kb_id, document_id, title, language, ordinal, body, headings, page, anchor, tokens, hash)
    """
)

_DELETE_CHUNKS = text("DELETE FROM chunks WHERE tenant_id = :tenant_id AND document_id = ANY(:document_ids)")

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
_REINDEX_POSTINGS = text(
    """
    SELECT fts_reindex_knowledge_base(id) FROM knowledge_bases WHERE tenant_id = :tenant_id AND id = :kb_id
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


@dataclass(frozen=True)
class DocumentChunks:
    """A document's new chunks with what their full-text vector needs."""

    document_id: uuid.UUID
    knowledge_base_id: uuid.UUID
    title: str
    language: str
    rows: Sequence[ChunkRow]


def _headings(row: ChunkRow) -> str:
    return HEADING_SEPARATOR.join(h.replace(HEADING_SEPARATOR, " ") for h in row.heading_path)


async def replace_chunks(
    session: AsyncSession, tenant_id: uuid.UUID, documents: Sequence[DocumentChunks]
) -> None:
    """Swap the chunks of several documents in the caller's transaction: all searchable at once."""
    if not documents:
        return
    await session.execute(
        _DELETE_CHUNKS, {"tenant_id": tenant_id, "document_ids": [d.document_id for d in documents]}
    )
    pairs = [(document, row) for document in documents for row in document.rows]
    if not pairs:
        return
    await session.execute(
        _INSERT_CHUNKS,
        {
            "tenant_id": tenant_id,
            "sep": HEADING_SEPARATOR,
            "ids": [row.id for _, row in pairs],
            "kb_ids": [document.knowledge_base_id for document, _ in pairs],
            "document_ids": [document.document_id for document, _ in pairs],
            "titles": [document.title for document, _ in pairs],
            "languages": [document.language for document, _ in pairs],
            "ordinals": [row.ordinal for _, row in pairs],
            "bodies": [row.text for _, row in pairs],
            "headings": [_headings(row) for _, row in pairs],
            "pages": [row.page for _, row in pairs],
            "anchors": [row.anchor for _, row in pairs],
            "tokens": [row.token_count for _, row in pairs],
            "hashes": [row.content_hash for _, row in pairs],
        },
    )


async def reindex_language(
    session: AsyncSession, *, tenant_id: uuid.UUID, knowledge_base_id: uuid.UUID, language: str
) -> None:
    """Rewrite the full-text vectors of a knowledge base after its language changed."""
    params = {"tenant_id": tenant_id, "kb_id": knowledge_base_id}
    await session.execute(_RELANGUAGE, {**params, "language": language})
    await session.execute(_REINDEX_POSTINGS, params)
