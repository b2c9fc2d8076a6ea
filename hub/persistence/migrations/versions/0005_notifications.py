"""Citizen notifications: the outbox, messages, contacts and preferences.

Revision ID: 0005_notifications
Revises: 0004_merge
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_notifications"
down_revision = "0004_merge"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_notification_outbox_dedupe_key"),
    )
    op.create_index(
        "ix_notification_outbox_pending", "notification_outbox", ["processed_at", "not_before"]
    )
    op.create_table(
        "notification_messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_messages"),
    )
    op.create_index(
        "ix_notification_messages_due", "notification_messages", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_messages_subject", "notification_messages", ["subject", "created_at"]
    )
    op.create_index(
        "ix_notification_messages_provider", "notification_messages", ["provider_id"]
    )
    op.create_table(
        "notification_profiles",
        sa.Column("afm", sa.String(16), nullable=False),
        sa.Column("amka", sa.String(16), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.PrimaryKeyConstraint("afm", name="pk_notification_profiles"),
        sa.UniqueConstraint("amka", name="uq_notification_profiles_amka"),
    )
    op.create_table(
        "notification_contacts",
        sa.Column("afm", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("afm", "kind", name="pk_notification_contacts"),
    )
    op.create_table(
        "notification_verifications",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("afm", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_verifications"),
    )
    op.create_index(
        "ix_notification_verifications_afm", "notification_verifications", ["afm", "kind"]
    )
    op.create_table(
        "notification_preferences",
        sa.Column("afm", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("afm", "kind", "channel", name="pk_notification_preferences"),
    )


def downgrade() -> None:
    for table in (
        "notification_preferences",
        "notification_verifications",
        "notification_contacts",
        "notification_profiles",
        "notification_messages",
        "notification_outbox",
    ):
        op.drop_table(table)
