"""A tenant's embedding model and the state of a change of model.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SWITCH_STATUSES = ("pending", "embedding", "completed", "failed", "cancelled")


def upgrade() -> None:
    op.add_column("tenants", sa.Column("embedding_model", sa.String(length=200), nullable=True))
    op.add_column("tenants", sa.Column("embedding_switch_id", sa.Uuid(), nullable=True))
    op.add_column("tenants", sa.Column("embedding_switch_model", sa.String(length=200), nullable=True))
    op.add_column(
        "tenants",
        sa.Column(
            "embedding_switch_status",
            sa.Enum(
                *SWITCH_STATUSES,
                name="embedding_switch_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
    )
    op.add_column(
        "tenants",
        sa.Column("embedding_switch_progress", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("tenants", sa.Column("embedding_switch_error", sa.Text(), nullable=True))
    op.add_column(
        "tenants", sa.Column("embedding_switch_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tenants", sa.Column("embedding_switch_finished_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    for column in (
        "embedding_switch_finished_at",
        "embedding_switch_started_at",
        "embedding_switch_error",
        "embedding_switch_progress",
        "embedding_switch_status",
        "embedding_switch_model",
        "embedding_switch_id",
        "embedding_model",
    ):
        op.drop_column("tenants", column)
