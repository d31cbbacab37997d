"""Website scraper: configurations, runs and the pages they found.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _config_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["config_id"],
        ["scraper_configs.id"],
        name=op.f(f"fk_{table}_config_id_scraper_configs"),
        ondelete="CASCADE",
    )


def _common() -> list[sa.Column[sa.Uuid] | sa.Column[sa.DateTime]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "scraper_configs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("knowledge_base_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("schedule_interval_minutes", sa.Integer(), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        *_common(),
        _tenant_fk("scraper_configs"),
        sa.ForeignKeyConstraint(
            ["knowledge_base_id"],
            ["knowledge_bases.id"],
            name=op.f("fk_scraper_configs_knowledge_base_id_knowledge_bases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scraper_configs")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_scraper_configs_tenant_id")),
    )
    op.create_index(op.f("ix_scraper_configs_tenant_id"), "scraper_configs", ["tenant_id"])
    op.create_index("ix_scraper_configs_next_run_at", "scraper_configs", ["next_run_at"])

    op.create_table(
        "scraper_runs",
        sa.Column("config_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "cancelled",
                "failed",
                name="scraper_run_status",
                native_enum=False,
                length=20,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("ingested", sa.Integer(), nullable=False),
        sa.Column("vanished", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_common(),
        _tenant_fk("scraper_runs"),
        _config_fk("scraper_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scraper_runs")),
    )
    op.create_index(op.f("ix_scraper_runs_tenant_id"), "scraper_runs", ["tenant_id"])
    op.create_index("ix_scraper_runs_config_created", "scraper_runs", ["config_id", "created_at"])

    op.create_table(
        "scraper_pages",
        sa.Column("config_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("links", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_run_id", sa.Uuid(), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        *_common(),
        _tenant_fk("scraper_pages"),
        _config_fk("scraper_pages"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_scraper_pages_document_id_documents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scraper_pages")),
        sa.UniqueConstraint("config_id", "url", name=op.f("uq_scraper_pages_config_id")),
    )
    op.create_index(op.f("ix_scraper_pages_tenant_id"), "scraper_pages", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("scraper_pages")
    op.drop_table("scraper_runs")
    op.drop_table("scraper_configs")
