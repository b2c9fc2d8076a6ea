"""Sealed certificates, the references of their holders, and rate-limit counters.

Revision ID: 0003_certificates
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_certificates"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("code", sa.String(19), nullable=False),
        sa.Column("evidence_type", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("holder_masked", sa.String(200), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(16), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_certificates"),
    )
    op.create_index("ix_certificates_subject_issued_at", "certificates", ["subject", "issued_at"])
    op.create_table(
        "certificate_subjects",
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("code", sa.String(19), nullable=False),
        sa.PrimaryKeyConstraint("subject", "code", name="pk_certificate_subjects"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name="pk_rate_limits"),
    )
    op.create_index("ix_rate_limits_window_start", "rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_window_start", table_name="rate_limits")
    op.drop_table("rate_limits")
    op.drop_table("certificate_subjects")
    op.drop_index("ix_certificates_subject_issued_at", table_name="certificates")
    op.drop_table("certificates")
