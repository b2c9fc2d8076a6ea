"""Join the certificates and consents branches into one head.

Both tables were added in parallel on top of 0002; with two heads the schema's
revision is reported as "a+b" and every new migration would have to pick a
parent. This revision changes nothing in the schema: it only gives the history
one head again, so databases already at both heads move to it on upgrade.

Revision ID: 0004_merge
Revises: 0003_certificates, 0003_consents
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0004_merge"
down_revision = ("0003_certificates", "0003_consents")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the parents' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
