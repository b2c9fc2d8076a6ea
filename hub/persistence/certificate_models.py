"""Tables of sealed certificates.

Kept apart from ``models.py`` so that the certificate feature owns its
tables; ``schema.py`` gathers them with the others for Alembic (and the
check that models and migrations agree).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["CertificateRow", "CertificateSubject"]


class CertificateRow(Base):
    """One issued certificate: digests, status and the sealed PDF itself.

    The PDF is kept so the holder can download it again; the evidence is
    only inside it. ``holder_masked`` (``Ι*** Π***``) is all a verifier by
    code sees of the holder.
    """

    __tablename__ = "certificates"

    code: Mapped[str] = mapped_column(String(19), primary_key=True)
    evidence_type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    holder_masked: Mapped[str] = mapped_column(String(200))
    record_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(16))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_certificates_subject_issued_at", "subject", "issued_at"),)


class CertificateSubject(Base):
    """Every reference (``afm:…``, ``amka:…``) a certificate's holder is known by.

    A holder signed in with either identifier finds their certificates.
    """

    __tablename__ = "certificate_subjects"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(19), primary_key=True)
