"""Service desk: handoff requests and operators, forms and submissions, transcript retention.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSONB = postgresql.JSONB(astext_type=sa.Text())


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _owned(table: str) -> list[Any]:
    """id, tenant_id, timestamps, the primary key and the tenant's foreign key."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant_fk(table),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "desk_settings",
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("schedule", _JSONB, nullable=False),
        sa.Column("queue_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("dont_know_threshold", sa.Integer(), nullable=False),
        sa.Column("notify_emails", _JSONB, nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("timeout_message", sa.Text(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("last_purged_at", sa.DateTime(timezone=True), nullable=True),
        *_owned("desk_settings"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_desk_settings_tenant_id")),
    )
    op.create_index(op.f("ix_desk_settings_tenant_id"), "desk_settings", ["tenant_id"])

    op.create_table(
        "desk_operators",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        *_owned("desk_operators"),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_desk_operators_tenant_id")),
    )
    op.create_index(op.f("ix_desk_operators_tenant_id"), "desk_operators", ["tenant_id"])

    op.create_table(
        "desk_handoffs",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        *_owned("desk_handoffs"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_desk_handoffs_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_desk_handoffs_tenant_id"), "desk_handoffs", ["tenant_id"])
    op.create_index("ix_desk_handoffs_tenant_status", "desk_handoffs", ["tenant_id", "status"])
    op.create_index(
        "uq_desk_handoffs_open_conversation",
        "desk_handoffs",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'active')"),
    )

    op.create_table(
        "desk_canned_replies",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("shortcut", sa.String(length=50), nullable=True),
        *_owned("desk_canned_replies"),
    )
    op.create_index(op.f("ix_desk_canned_replies_tenant_id"), "desk_canned_replies", ["tenant_id"])

    op.create_table(
        "desk_forms",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fields", _JSONB, nullable=False),
        sa.Column("triggers", _JSONB, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("min_fill_seconds", sa.Integer(), nullable=False),
        sa.Column("notify_emails", _JSONB, nullable=False),
        sa.Column("confirmation_subject", sa.String(length=300), nullable=True),
        sa.Column("confirmation_body", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        *_owned("desk_forms"),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_desk_forms_tenant_id")),
    )
    op.create_index(op.f("ix_desk_forms_tenant_id"), "desk_forms", ["tenant_id"])

    op.create_table(
        "desk_form_submissions",
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_external_id", sa.String(length=200), nullable=True),
        sa.Column("visitor_id", sa.String(length=64), nullable=True),
        sa.Column("data", _JSONB, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("webhook_status", sa.String(length=20), nullable=True),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        *_owned("desk_form_submissions"),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["desk_forms.id"],
            name=op.f("fk_desk_form_submissions_form_id_desk_forms"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_desk_form_submissions_tenant_id"), "desk_form_submissions", ["tenant_id"])
    op.create_index(op.f("ix_desk_form_submissions_form_id"), "desk_form_submissions", ["form_id"])
    op.create_index(
        "ix_desk_form_submissions_tenant_created", "desk_form_submissions", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    for table in (
        "desk_form_submissions",
        "desk_forms",
        "desk_canned_replies",
        "desk_handoffs",
        "desk_operators",
        "desk_settings",
    ):
        op.drop_table(table)
