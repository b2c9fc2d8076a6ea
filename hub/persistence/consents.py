"""Consents in the shared database, and the citizen's read of the access log.

:class:`SqlConsentStore` implements :class:`~hub.consent.ports.ConsentStore`
and :class:`~hub.consent.ports.CitizenLogReader`. Each decision and its
access-log entry commit in one transaction (through
:meth:`~hub.persistence.auditlog.SqlAccessLog.append_in`), and every change
that could race is a conditional ``UPDATE`` whose row count says who won:

* deciding a request: ``… WHERE decision IS NULL``: one decision per request;
* using a consent: ``… WHERE revoked_at IS NULL AND used_at IS NULL AND
  valid_until > now``: a revocation committed first always wins, and a
  one-time consent is spent by exactly one request. On PostgreSQL the
  ``UPDATE`` waits for a concurrent revocation's row lock and re-checks the
  condition on the committed row (READ COMMITTED); on SQLite every writing
  transaction holds the database's write lock from ``BEGIN``;
* revoking: ``… WHERE revoked_at IS NULL``: revoking twice logs once.

Each transaction touches the consent row before the log head, in that
order, so the two locks are always taken in the same order and cannot
deadlock. Times are bound in UTC, since SQLite compares them as text.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, case, literal, null, or_, select, update
from sqlalchemy.orm import Session

from hub.audit.models import LoggedEntry
from hub.consent.models import Consent, ConsentRequest, Decision
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import IdentifierKind
from hub.domain.identity import CitizenRef
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.consent_models import ConsentRequestRow, ConsentRow
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from hub.webhooks.models import AgencyEvent
from hub.webhooks.ports import EventPublisher

__all__ = ["SqlConsentStore"]


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the hub stores UTC only.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _iso(value: dt.datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def _opt_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value)


def _types(text: str) -> tuple[str, ...]:
    return tuple(str(t) for t in json.loads(text))


def _request(row: ConsentRequestRow) -> ConsentRequest:
    kind: IdentifierKind = "afm" if row.citizen_kind == "afm" else "amka"
    return ConsentRequest(
        id=row.id,
        agency_id=row.agency_id,
        citizen=CitizenRef(kind, row.citizen_value),
        purpose=row.purpose,
        evidence_types=_types(row.evidence_types),
        created_at=_utc(row.created_at),
        expires_at=_utc(row.expires_at),
        official=row.official,
        decision=cast(Decision, row.decision) if row.decision else None,
        decided_at=_opt_utc(row.decided_at),
        consent_id=row.consent_id,
    )


def _consent(row: ConsentRow) -> Consent:
    return Consent(
        id=row.id,
        request_id=row.request_id,
        agency_id=row.agency_id,
        purpose=row.purpose,
        evidence_types=_types(row.evidence_types),
        subject=row.subject,
        citizen_afm=row.citizen_afm,
        citizen_amka=row.citizen_amka,
        granted_at=_utc(row.granted_at),
        valid_until=_utc(row.valid_until),
        once=bool(row.once),
        revoked_at=_opt_utc(row.revoked_at),
        used_at=_opt_utc(row.used_at),
        use_count=int(row.use_count),
    )


def _changed(result: Any) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1


class SqlConsentStore:
    """Consent requests, consents and the citizen's log view on the hub's database."""

    def __init__(
        self,
        db: Database,
        access_log: SqlAccessLog | None = None,
        events: EventPublisher | None = None,
    ) -> None:
        self.db = db
        self.access_log = access_log or SqlAccessLog(db)
        #: Agencies' webhooks hear of decisions and revocations in their transaction.
        self.events = events

    def _publish(self, session: Session, event: AgencyEvent) -> None:
        if self.events is not None:
            self.events.publish_in(session, event)

    def _log(self, session: Session, entries: Sequence[AccessEntry]) -> int | None:
        if not entries:
            return None
        return self.access_log.append_in(session, list(entries))

    # -- requests ------------------------------------------------------------------

    def add_request(self, request: ConsentRequest, entries: Sequence[AccessEntry]) -> None:
        with self.db.session() as session:
            session.add(
                ConsentRequestRow(
                    id=request.id,
                    agency_id=request.agency_id,
                    citizen_kind=request.citizen.kind,
                    citizen_value=request.citizen.value,
                    subject=request.subject,
                    purpose=request.purpose,
                    evidence_types=json.dumps(list(request.evidence_types)),
                    official=request.official,
                    created_at=_utc(request.created_at),
                    expires_at=_utc(request.expires_at),
                )
            )
            session.flush()
            self._log(session, entries)

    def get_request(self, request_id: str) -> ConsentRequest | None:
        with self.db.session() as session:
            row = session.get(ConsentRequestRow, request_id)
            return None if row is None else _request(row)

    def requests_for(self, subjects: Collection[str], *, limit: int) -> list[ConsentRequest]:
        query = (
            select(ConsentRequestRow)
            .where(ConsentRequestRow.subject.in_(list(subjects)))
            .order_by(ConsentRequestRow.created_at.desc(), ConsentRequestRow.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_request(row) for row in session.scalars(query)]

    def decide(
        self,
        request_id: str,
        *,
        decision: Decision,
        decided_at: dt.datetime,
        consent: Consent | None,
        entries: Sequence[AccessEntry],
    ) -> bool:
        with self.db.session() as session:
            result = session.execute(
                update(ConsentRequestRow)
                .where(ConsentRequestRow.id == request_id, ConsentRequestRow.decision.is_(None))
                .values(
                    decision=decision,
                    decided_at=_utc(decided_at),
                    consent_id=consent.id if consent else None,
                )
            )
            if not _changed(result):
                return False
            if consent is not None:
                session.add(
                    ConsentRow(
                        id=consent.id,
                        request_id=consent.request_id,
                        agency_id=consent.agency_id,
                        purpose=consent.purpose,
                        evidence_types=json.dumps(list(consent.evidence_types)),
                        subject=consent.subject,
                        citizen_afm=consent.citizen_afm,
                        citizen_amka=consent.citizen_amka,
                        granted_at=_utc(consent.granted_at),
                        valid_until=_utc(consent.valid_until),
                        once=consent.once,
                        use_count=0,
                    )
                )
                session.flush()
            self._log(session, entries)
            agency_id = session.scalar(
                select(ConsentRequestRow.agency_id).where(ConsentRequestRow.id == request_id)
            )
            self._publish(
                session,
                AgencyEvent(
                    agency_id=str(agency_id),
                    type=f"consent.{decision}",
                    at=_utc(decided_at),
                    data={
                        "request_id": request_id,
                        "status": decision,
                        "consent_id": consent.id if consent else None,
                        "valid_until": _iso(consent.valid_until) if consent else None,
                        "once": consent.once if consent else None,
                        "decided_at": _iso(decided_at),
                    },
                ),
            )
        return True

    # -- consents ------------------------------------------------------------------

    def get_consent(self, consent_id: str) -> Consent | None:
        with self.db.session() as session:
            row = session.get(ConsentRow, consent_id)
            return None if row is None else _consent(row)

    def consents_for(self, afm: str, *, limit: int) -> list[Consent]:
        query = (
            select(ConsentRow)
            .where(ConsentRow.citizen_afm == afm)
            .order_by(ConsentRow.granted_at.desc(), ConsentRow.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_consent(row) for row in session.scalars(query)]

    def find_consents(self, *, agency_id: str, purpose: str, citizen: CitizenRef) -> list[Consent]:
        column = ConsentRow.citizen_afm if citizen.kind == "afm" else ConsentRow.citizen_amka
        query = select(ConsentRow).where(
            ConsentRow.agency_id == agency_id,
            ConsentRow.purpose == purpose,
            column == citizen.value,
            ConsentRow.revoked_at.is_(None),
            ConsentRow.used_at.is_(None),
        )
        with self.db.session() as session:
            return [_consent(row) for row in session.scalars(query)]

    def revoke(self, consent_id: str, *, at: dt.datetime, entries: Sequence[AccessEntry]) -> bool:
        with self.db.session() as session:
            result = session.execute(
                update(ConsentRow)
                .where(ConsentRow.id == consent_id, ConsentRow.revoked_at.is_(None))
                .values(revoked_at=_utc(at))
            )
            if not _changed(result):
                return False
            self._log(session, entries)
            row = session.get(ConsentRow, consent_id)
            if row is not None:
                self._publish(
                    session,
                    AgencyEvent(
                        agency_id=row.agency_id,
                        type="consent.revoked",
                        at=_utc(at),
                        data={
                            "request_id": row.request_id,
                            "consent_id": row.id,
                            "status": "revoked",
                            "purpose": row.purpose,
                            "revoked_at": _iso(at),
                        },
                    ),
                )
        return True

    def use(self, consent_id: str, *, at: dt.datetime, entry: AccessEntry) -> int | None:
        now = _utc(at)
        with self.db.session() as session:
            result = session.execute(
                update(ConsentRow)
                .where(
                    ConsentRow.id == consent_id,
                    ConsentRow.revoked_at.is_(None),
                    ConsentRow.used_at.is_(None),
                    ConsentRow.valid_until > now,
                )
                .values(
                    use_count=ConsentRow.use_count + 1,
                    last_used_at=now,
                    # A one-time consent is spent by this use; a lasting one is not.
                    used_at=case(
                        (ConsentRow.once, literal(now, DateTime(timezone=True))), else_=null()
                    ),
                )
            )
            if not _changed(result):
                return None
            return self._log(session, [entry])

    # -- the citizen's view of the log -------------------------------------------------

    def entries_about(
        self,
        subjects: Collection[str],
        *,
        hidden_purposes: Collection[str],
        below: int | None,
        limit: int,
    ) -> list[LoggedEntry]:
        stmt = select(AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash).where(
            AuditEntryRow.subject.in_(list(subjects))
        )
        if hidden_purposes:
            stmt = stmt.where(
                or_(
                    AuditEntryRow.purpose.is_(None),
                    AuditEntryRow.purpose.not_in(list(hidden_purposes)),
                )
            )
        if below is not None:
            stmt = stmt.where(AuditEntryRow.idx < below)
        stmt = stmt.order_by(AuditEntryRow.idx.desc()).limit(limit)
        with self.db.session() as session:
            return [
                LoggedEntry(int(row.idx), json.loads(row.entry), bytes(row.leaf_hash))
                for row in session.execute(stmt)
            ]
