"""Website widget: publishable keys, allowed origins, widget configuration and visitor sessions.

Visitor sessions themselves are stateless signed tokens; the tables hold the keys, the per-tenant
configuration (origins, theme), the visitors' feedback on answers and their widget events.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _timestamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "widget_keys",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _tenant_fk("widget_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_widget_keys_prefix")),
    )
    op.create_index(op.f("ix_widget_keys_tenant_id"), "widget_keys", ["tenant_id"])

    op.create_table(
        "widget_configs",
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("allowed_origins", postgresql.ARRAY(sa.String(length=300)), nullable=False),
        sa.Column("assistant", sa.String(length=200), server_default="default", nullable=False),
        sa.Column("conversation_lifetime_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("theme", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        *_timestamps(),
        _tenant_fk("widget_configs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_configs")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_widget_configs_tenant_id")),
    )
    op.create_index(op.f("ix_widget_configs_tenant_id"), "widget_configs", ["tenant_id"])

    op.create_table(
        "widget_feedback",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_widget_feedback_message_id_conversation_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_widget_feedback_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        _tenant_fk("widget_feedback"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_feedback")),
        sa.UniqueConstraint("message_id", "visitor_id", name=op.f("uq_widget_feedback_message_id")),
    )
    op.create_index(op.f("ix_widget_feedback_tenant_id"), "widget_feedback", ["tenant_id"])
    op.create_index(op.f("ix_widget_feedback_message_id"), "widget_feedback", ["message_id"])

    op.create_table(
        "widget_events",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("visitor_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_external_id", sa.String(length=200), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _created_at(),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        _tenant_fk("widget_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_events")),
    )
    op.create_index(op.f("ix_widget_events_tenant_id"), "widget_events", ["tenant_id"])
    op.create_index("ix_widget_events_tenant_created", "widget_events", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_table("widget_events")
    op.drop_table("widget_feedback")
    op.drop_table("widget_configs")
    op.drop_table("widget_keys")
