"""Typed SQLAlchemy models: every table the hub keeps.

All shared state lives here (never in process memory) so that several hub
nodes on one PostgreSQL stay correct. Alembic migrations under
``migrations/versions`` create these tables; a test checks the two agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditCheckpoint",
    "AuditEntryRow",
    "AuditHead",
    "AuditNode",
    "Base",
    "UsedAssertion",
]

# Stable constraint names let Alembic diff and migrate them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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


from hub.persistence import certificate_models as _certificate_models  # noqa: E402, F401  # registers the certificate tables
from hub.persistence import consent_models as _consent_models  # noqa: E402, F401  # registers the consent tables
