"""Tables of witnessing: the hub's received cosignatures and a witness's own state.

``audit_cosignatures`` sits beside ``audit_checkpoints`` in the hub's
database: one row per checkpoint and witness. ``witness_logs`` is what
``hub witness serve`` keeps in *its* database (the same schema, migrated the
same way, so one migration history serves both): the last checkpoint it
cosigned of each log it follows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["AuditCosignature", "WitnessLogRow"]


class AuditCosignature(Base):
    """A witness's ``cosignature/v1`` line of the checkpoint of ``size``."""

    __tablename__ = "audit_cosignatures"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class WitnessLogRow(Base):
    """A witness's record of one log: the last checkpoint it cosigned."""

    __tablename__ = "witness_logs"

    log_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
