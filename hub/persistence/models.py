"""Typed SQLAlchemy models: the access log's tables and the replay cache.

All shared state lives here (never in process memory) so that several hub
nodes on one PostgreSQL stay correct. Alembic migrations under
``migrations/versions`` create these tables; a test checks the two agree.
The certificate and consent features keep theirs in their own modules;
``schema`` gathers them all.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = [
    "AuditCheckpoint",
    "AuditEntryRow",
    "AuditHead",
    "AuditNode",
    "Base",
    "UsedAssertion",
]


class UsedAssertion(Base):
    """A client assertion's ``jti`` seen once: replaying it is refused.

    Rows are kept until the assertion would have expired anyway.
    """

    __tablename__ = "used_assertions"

    issuer: Mapped[str] = mapped_column(String(128), primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_used_assertions_expires_at", "expires_at"),)


class AuditHead(Base):
    """The single row that holds the log's size; appends lock it in turn."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class AuditEntryRow(Base):
    """One access-log entry: its canonical bytes and the columns searches use.

    ``entry`` is the RFC 8785 canonical JSON that the leaf hash commits to;
    the other columns are copies for indexing and are never trusted by the
    verifier.
    """

    __tablename__ = "audit_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(64))
    evidence_type: Mapped[str | None] = mapped_column(String(64))
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_audit_entries_subject_idx", "subject", "idx"),
        Index("ix_audit_entries_actor_idx", "actor_id", "idx"),
        Index("ix_audit_entries_time", "time"),
    )


class AuditNode(Base):
    """The hash of a complete perfect subtree: written once, never changed."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the log at some size."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
