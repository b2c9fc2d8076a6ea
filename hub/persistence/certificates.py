"""Certificate records in the shared database, written with their log entries.

Issuing and revoking a certificate change a row and append an access-log
entry; both happen in one transaction (``SqlAccessLog.append_in``), so a
certificate never exists, or is never revoked, without the log saying so.
Revocation updates the row only while it is still valid, so two nodes
revoking at once cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update

from hub.certificates.models import CertificateRecord, CertificateStatus
from hub.domain.auditlog.entry import AccessEntry
from hub.errors import Conflict, NotFound
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.certificate_models import CertificateRow, CertificateSubject
from hub.persistence.db import Database

__all__ = ["SqlCertificateStore"]


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _record(row: CertificateRow, subjects: Sequence[str]) -> CertificateRecord:
    issued_at = _aware(row.issued_at)
    assert issued_at is not None  # noqa: S101  # the column is NOT NULL
    ordered = sorted(set(subjects) | {row.subject}, key=lambda s: (s != row.subject, s))
    return CertificateRecord(
        code=row.code,
        evidence_type=row.evidence_type,
        subjects=tuple(ordered),
        holder_masked=row.holder_masked,
        record_sha256=row.record_sha256,
        pdf_sha256=row.pdf_sha256,
        issued_at=issued_at,
        kid=row.kid,
        status=CertificateStatus(row.status),
        revoked_at=_aware(row.revoked_at),
        revocation_reason=row.revocation_reason,
        revoked_by=row.revoked_by,
    )


class SqlCertificateStore:
    """:class:`hub.certificates.ports.CertificateStore` on the hub's database."""

    def __init__(self, db: Database, access_log: SqlAccessLog) -> None:
        self.db = db
        self.access_log = access_log

    def add(self, record: CertificateRecord, pdf: bytes, entries: Sequence[AccessEntry]) -> None:
        with self.db.session() as session:
            session.add(
                CertificateRow(
                    code=record.code,
                    evidence_type=record.evidence_type,
                    subject=record.subject,
                    holder_masked=record.holder_masked,
                    record_sha256=record.record_sha256,
                    pdf_sha256=record.pdf_sha256,
                    kid=record.kid,
                    issued_at=record.issued_at,
                    status=str(record.status),
                    revoked_at=record.revoked_at,
                    revocation_reason=record.revocation_reason,
                    revoked_by=record.revoked_by,
                    pdf=pdf,
                )
            )
            session.add_all(
                CertificateSubject(subject=s, code=record.code) for s in set(record.subjects)
            )
            session.flush()
            if entries:
                self.access_log.append_in(session, list(entries))

    def get(self, code: str) -> CertificateRecord | None:
        with self.db.session() as session:
            row = session.get(CertificateRow, code)
            if row is None:
                return None
            subjects = session.scalars(
                select(CertificateSubject.subject).where(CertificateSubject.code == code)
            ).all()
            return _record(row, subjects)

    def pdf(self, code: str) -> bytes | None:
        with self.db.session() as session:
            data = session.scalar(select(CertificateRow.pdf).where(CertificateRow.code == code))
            return bytes(data) if data is not None else None

    def for_holder(self, subjects: Sequence[str]) -> list[CertificateRecord]:
        with self.db.session() as session:
            codes = select(CertificateSubject.code).where(
                CertificateSubject.subject.in_(list(subjects))
            )
            rows = session.scalars(
                select(CertificateRow)
                .where(CertificateRow.code.in_(codes))
                .order_by(CertificateRow.issued_at.desc(), CertificateRow.code)
            ).all()
            return [_record(row, ()) for row in rows]

    def revoke(
        self,
        code: str,
        *,
        at: dt.datetime,
        reason: str,
        by: str,
        entries: Sequence[AccessEntry],
    ) -> CertificateRecord:
        with self.db.session() as session:
            changed = session.execute(
                update(CertificateRow)
                .where(
                    CertificateRow.code == code,
                    CertificateRow.status == str(CertificateStatus.VALID),
                )
                .values(
                    status=str(CertificateStatus.REVOKED),
                    revoked_at=at,
                    revocation_reason=reason,
                    revoked_by=by,
                )
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                exists = session.get(CertificateRow, code) is not None
                if exists:
                    raise Conflict("This certificate is already revoked.")
                raise NotFound("There is no certificate with this code.")
            if entries:
                self.access_log.append_in(session, list(entries))
        found = self.get(code)
        assert found is not None  # noqa: S101  # just updated in a committed transaction
        return found
