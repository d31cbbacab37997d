"""No index that another one already serves: `chunks.tenant_id` (ix_chunks_tenant_kb starts with it),
`chunks.document_id` (the unique (document_id, ordinal) does), `documents.tenant_id`
(ix_documents_tenant_kb) and `embedding_cache.tenant_id` (its primary key starts with it).

Each one was written on every chunk insert and on every vector update of a chunk (a vector changes
an indexed column, so the update is never HOT), and on every cached vector.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDUNDANT = {
    "ix_chunks_tenant_id": ("chunks", "tenant_id"),
    "ix_chunks_document_id": ("chunks", "document_id"),
    "ix_documents_tenant_id": ("documents", "tenant_id"),
    "ix_embedding_cache_tenant_id": ("embedding_cache", "tenant_id"),
}


def upgrade() -> None:
    for name in REDUNDANT:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    for name, (table, column) in REDUNDANT.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")
