"""Consent requests and consents.

Revision ID: 0003_consents
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_consents"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("citizen_kind", sa.String(8), nullable=False),
        sa.Column("citizen_value", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("evidence_types", sa.Text(), nullable=False),
        sa.Column("official", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent_requests"),
    )
    op.create_index(
        "ix_consent_requests_subject_created", "consent_requests", ["subject", "created_at"]
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("evidence_types", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("citizen_afm", sa.String(16), nullable=False),
        sa.Column("citizen_amka", sa.String(16), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("once", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_requests.id"],
            name="fk_consents_request_id_consent_requests",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_citizen_afm_granted", "consents", ["citizen_afm", "granted_at"])
    op.create_index("ix_consents_lookup_afm", "consents", ["agency_id", "purpose", "citizen_afm"])
    op.create_index("ix_consents_lookup_amka", "consents", ["agency_id", "purpose", "citizen_amka"])


def downgrade() -> None:
    op.drop_index("ix_consents_lookup_amka", table_name="consents")
    op.drop_index("ix_consents_lookup_afm", table_name="consents")
    op.drop_index("ix_consents_citizen_afm_granted", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_consent_requests_subject_created", table_name="consent_requests")
    op.drop_table("consent_requests")
