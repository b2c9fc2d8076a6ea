"""Tables of consent: the agencies' requests and the citizens' consents.

They live in the shared database like every other piece of state, so that a
revocation accepted by one hub node binds every other node at once. The
columns that decide whether a consent may be used (``revoked_at``,
``used_at``, ``valid_until``) are plain columns on one row, so that one
conditional ``UPDATE`` can check and spend a consent atomically.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["ConsentRequestRow", "ConsentRow"]


class ConsentRequestRow(Base):
    """An agency's consent request; decided once, by the citizen it names."""

    __tablename__ = "consent_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64))
    citizen_kind: Mapped[str] = mapped_column(String(8))
    citizen_value: Mapped[str] = mapped_column(String(16))
    #: ``afm:…`` or ``amka:…``, as the agency named the citizen.
    subject: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64))
    #: A JSON list of evidence type ids.
    evidence_types: Mapped[str] = mapped_column(Text)
    official: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    consent_id: Mapped[str | None] = mapped_column(String(32))
    #: When the agency's webhooks were told that the request expired undecided.
    expiry_announced_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_consent_requests_subject_created", "subject", "created_at"),)


class ConsentRow(Base):
    """A consent given by a citizen, with both of their identifiers."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), ForeignKey("consent_requests.id"))
    agency_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(64))
    evidence_types: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(32))
    citizen_afm: Mapped[str] = mapped_column(String(16))
    citizen_amka: Mapped[str | None] = mapped_column(String(16))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    once: Mapped[bool] = mapped_column(Boolean)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    use_count: Mapped[int] = mapped_column(Integer)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_consents_citizen_afm_granted", "citizen_afm", "granted_at"),
        Index("ix_consents_lookup_afm", "agency_id", "purpose", "citizen_afm"),
        Index("ix_consents_lookup_amka", "agency_id", "purpose", "citizen_amka"),
    )
