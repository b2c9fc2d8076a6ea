"""Tables of case status: each agency's cases and every change of them.

A case's key is the agency and its reference; ``version`` lets one
conditional ``UPDATE`` decide which of two concurrent changes wins.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["CaseChangeRow", "CaseRow"]


class CaseRow(Base):
    """A citizen's case at one agency, as it stands now."""

    __tablename__ = "cases"

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), primary_key=True)
    citizen_kind: Mapped[str] = mapped_column(String(8))
    citizen_value: Mapped[str] = mapped_column(String(16))
    #: ``afm:…`` or ``amka:…``, as the agency named the citizen.
    subject: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    document: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_cases_subject_updated", "subject", "updated_at"),
        Index("ix_cases_reference", "reference"),
    )


class CaseChangeRow(Base):
    """One change of a case, kept for the citizen's timeline."""

    __tablename__ = "case_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    document: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(
            ["agency_id", "reference"],
            ["cases.agency_id", "cases.reference"],
            name="fk_case_changes_case",
        ),
        Index("ix_case_changes_case", "agency_id", "reference", "id"),
    )
