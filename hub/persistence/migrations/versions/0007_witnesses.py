"""Witness cosignatures of checkpoints, and a witness's own per-log state.

Revision ID: 0007_witnesses
Revises: 0006_cases_webhooks
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_witnesses"
down_revision = "0006_cases_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_cosignatures",
        sa.Column("size", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name="pk_audit_cosignatures"),
    )
    op.create_table(
        "witness_logs",
        sa.Column("log_id", sa.String(300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("log_id", name="pk_witness_logs"),
    )


def downgrade() -> None:
    op.drop_table("witness_logs")
    op.drop_table("audit_cosignatures")
