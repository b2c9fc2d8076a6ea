"""A lease token on notification messages.

Workers claim a batch of messages and send them one after another; a message
whose lease ran out meanwhile could be claimed and sent by another worker
too. The token names the claim that holds a message, so a worker renews and
settles only what is still its own.

Revision ID: 0008_notification_lease
Revises: 0007_witnesses
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_notification_lease"
down_revision = "0007_witnesses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_messages") as table:
        table.add_column(sa.Column("lease", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_messages") as table:
        table.drop_column("lease")
