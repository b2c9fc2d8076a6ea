"""Typed SQLAlchemy models: every table the hub keeps.

All shared state lives here (never in process memory) so that several hub
nodes on one PostgreSQL stay correct. Alembic migrations under
``migrations/versions`` create these tables; a test checks the two agree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "UsedAssertion"]

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
