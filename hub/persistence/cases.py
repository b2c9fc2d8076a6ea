"""Cases in the shared database, and the evidence requests made under a case reference.

:class:`SqlCaseStore` implements :class:`~hub.cases.ports.CaseStore` and
:class:`~hub.cases.ports.CaseEvidenceLog`. A change writes, in one
transaction and in this order: the case row (a conditional insert or a
``… WHERE version = :read`` update, whose row count says whether this change
won), its timeline row, the access-log entry, the citizen's notice and the
agency's webhook deliveries. The case row comes before the log head, as in
every other store, so the two locks are always taken in the same order.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.cases.models import Case, CaseChange, CaseEvidence, CaseNotice
from hub.cases.ports import CaseNotices
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import IdentifierKind
from hub.domain.identity import CitizenRef
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.case_models import CaseChangeRow, CaseRow
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from hub.persistence.outbox import enqueue_in
from hub.webhooks.models import AgencyEvent
from hub.webhooks.ports import EventPublisher

__all__ = ["OutboxCaseNotices", "SqlCaseStore"]


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the hub stores UTC only.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _case(row: CaseRow) -> Case:
    kind: IdentifierKind = "afm" if row.citizen_kind == "afm" else "amka"
    return Case(
        agency_id=row.agency_id,
        reference=row.reference,
        citizen=CitizenRef(kind, row.citizen_value),
        title=row.title,
        status=row.status,
        document=row.document,
        deadline=row.deadline,
        note=row.note,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        version=int(row.version),
    )


def _values(case: Case) -> dict[str, Any]:
    return {
        "agency_id": case.agency_id,
        "reference": case.reference,
        "citizen_kind": case.citizen.kind,
        "citizen_value": case.citizen.value,
        "subject": case.subject,
        "title": case.title,
        "status": case.status,
        "document": case.document,
        "deadline": case.deadline,
        "note": case.note,
        "created_at": _utc(case.created_at),
        "updated_at": _utc(case.updated_at),
        "version": case.version,
    }


def _changed(result: Any) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1


class SqlCaseStore:
    """Cases, their timelines and their evidence requests on the hub's database."""

    def __init__(
        self,
        db: Database,
        access_log: SqlAccessLog,
        *,
        notices: CaseNotices,
        events: EventPublisher,
    ) -> None:
        self.db = db
        self.access_log = access_log
        self.notices = notices
        self.events = events

    def get(self, agency_id: str, reference: str) -> Case | None:
        with self.db.session() as session:
            row = session.get(CaseRow, (agency_id, reference))
            return None if row is None else _case(row)

    def owners(self, reference: str) -> list[Case]:
        with self.db.session() as session:
            rows = session.scalars(select(CaseRow).where(CaseRow.reference == reference))
            return [_case(row) for row in rows]

    def _insert(self, session: Session, case: Case) -> bool:
        # ON CONFLICT DO NOTHING: of two agencies' first PUTs racing, one inserts
        # and the other is told it lost, instead of failing with an error.
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            maker(CaseRow)
            .values(**_values(case))
            .on_conflict_do_nothing()
            .returning(CaseRow.version)
        )
        # RETURNING, not the row count: psycopg reports -1 for this statement.
        return session.execute(statement).first() is not None

    def save(
        self,
        case: Case,
        *,
        expected_version: int | None,
        change: CaseChange,
        entries: Sequence[AccessEntry],
        notice: CaseNotice,
        event: AgencyEvent,
    ) -> bool:
        with self.db.session() as session:
            if expected_version is None:
                if not self._insert(session, case):
                    return False
            else:
                values = _values(case)
                del values["agency_id"], values["reference"], values["created_at"]
                result = session.execute(
                    update(CaseRow)
                    .where(
                        CaseRow.agency_id == case.agency_id,
                        CaseRow.reference == case.reference,
                        CaseRow.version == expected_version,
                    )
                    .values(**values)
                )
                if not _changed(result):
                    return False
            session.execute(
                insert(CaseChangeRow).values(
                    agency_id=case.agency_id,
                    reference=case.reference,
                    at=_utc(change.at),
                    title=change.title,
                    status=change.status,
                    document=change.document,
                    deadline=change.deadline,
                    note=change.note,
                )
            )
            if entries:
                self.access_log.append_in(session, list(entries))
            self.notices.case_changed(session, notice)
            self.events.publish_in(session, event)
        return True

    def history(self, agency_id: str, reference: str) -> list[CaseChange]:
        query = (
            select(CaseChangeRow)
            .where(CaseChangeRow.agency_id == agency_id, CaseChangeRow.reference == reference)
            .order_by(CaseChangeRow.id)
        )
        with self.db.session() as session:
            return [
                CaseChange(
                    at=_utc(row.at),
                    title=row.title,
                    status=row.status,
                    document=row.document,
                    deadline=row.deadline,
                    note=row.note,
                )
                for row in session.scalars(query)
            ]

    def cases_for(self, subjects: Collection[str], *, limit: int) -> list[Case]:
        query = (
            select(CaseRow)
            .where(CaseRow.subject.in_(list(subjects)))
            .order_by(CaseRow.updated_at.desc(), CaseRow.agency_id, CaseRow.reference)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_case(row) for row in session.scalars(query)]

    # -- the evidence requests of a case -------------------------------------------

    def evidence_for(
        self,
        agency_id: str,
        reference: str,
        subjects: Collection[str],
        *,
        hidden_purposes: Collection[str],
        limit: int,
    ) -> list[CaseEvidence]:
        # The log keeps the case reference inside the entry's JSON only; the
        # agency's evidence requests about this citizen are few, so they are
        # read by the indexed columns and matched on the reference here.
        query = (
            select(AuditEntryRow.idx, AuditEntryRow.entry)
            .where(
                AuditEntryRow.subject.in_(list(subjects)),
                AuditEntryRow.actor_id == agency_id,
                AuditEntryRow.action == "evidence.request",
            )
            .order_by(AuditEntryRow.idx)
        )
        found: list[CaseEvidence] = []
        with self.db.session() as session:
            for row in session.execute(query):
                entry = json.loads(row.entry)
                if entry.get("case_reference") != reference:
                    continue
                if entry.get("purpose") in hidden_purposes:
                    continue
                found.append(
                    CaseEvidence(
                        at=AccessEntry.from_json_obj(entry).time,
                        evidence_type=entry.get("evidence_type"),
                        purpose=entry.get("purpose"),
                        outcome=str(entry.get("outcome")),
                        log_index=int(row.idx),
                    )
                )
        return found[-limit:]


class OutboxCaseNotices:
    """:class:`~hub.cases.ports.CaseNotices` on the notifications' transactional outbox.

    The outbox row carries codes only (agency, status, case reference, the
    missing document's type and deadline); the notification templates turn
    them into words in the citizen's language, with a link that needs sign-in.
    """

    def case_changed(self, transaction: Any, notice: CaseNotice) -> None:
        data: dict[str, Any] = {
            "agency": notice.agency_id,
            "case_reference": notice.case_reference,
            "status": notice.status,
        }
        if notice.document is not None:
            data["evidence_type"] = notice.document
        if notice.deadline is not None:
            data["deadline"] = notice.deadline.isoformat()
        enqueue_in(transaction, notice.subject, "case_status", data, at=notice.at)
