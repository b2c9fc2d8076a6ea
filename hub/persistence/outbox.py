"""The transactional outbox: notification events written with the change they announce.

Two ways in, both inside the caller's transaction:

* :class:`OutboxWriter` hangs on the access log
  (:meth:`~hub.persistence.auditlog.SqlAccessLog.add_writer`): whenever
  entries are appended — by a store's ``append_in`` or by the log's group
  commit — the entries a citizen must hear about become outbox rows in that
  same transaction;
* :func:`enqueue_in` lets any other feature (case status, scheduled scans)
  add an event in a session it holds.

A rolled-back transaction takes its outbox rows with it; a committed one
keeps them until a worker (``hub.notifications.service``) expands them into
messages.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from hub.domain.auditlog.entry import AccessEntry
from hub.errors import ValidationFailed
from hub.notifications.events import HiddenUntil, events_for
from hub.notifications.models import EVENT_KINDS, Event
from hub.persistence.consent_models import ConsentRequestRow
from hub.persistence.notification_models import OutboxRow

__all__ = ["OutboxWriter", "enqueue_in"]


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


_OUTBOX = cast(Table, OutboxRow.__table__)
# A scheduled event enqueued twice (two nodes scanning) is kept once. The
# statement is built once per dialect and run on the session's connection
# (Core): building it and going through the ORM's bulk-insert path cost more
# than the insert itself.
_INSERTS: Final[dict[str, Insert]] = {
    "postgresql": postgresql.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"]),
    "sqlite": sqlite.insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"]),
}


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    statement = _INSERTS.get(connection.dialect.name, _INSERTS["sqlite"])
    connection.execute(statement, rows)


def _row(event: Event) -> dict[str, Any]:
    at = _utc(event.at)
    return {
        "subject": event.subject,
        "kind": event.kind,
        "data": json.dumps(dict(event.data), sort_keys=True, ensure_ascii=False),
        "created_at": at,
        "not_before": _utc(max(event.not_before, at) if event.not_before else at),
        "processed_at": None,
        "dedupe_key": event.dedupe_key,
    }


def enqueue_in(
    session: Session,
    citizen_subject: str,
    kind: str,
    data: Mapping[str, Any],
    *,
    at: dt.datetime | None = None,
    not_before: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add one event for ``citizen_subject`` (``afm:…``/``amka:…``) in ``session``'s transaction.

    ``data`` carries codes only (agency id, purpose id, case reference,
    status code…), never names or evidence: templates turn codes into words.
    ``dedupe_key`` makes a repeated enqueue (a scan on two nodes) a no-op.
    """
    if kind not in EVENT_KINDS:
        raise ValidationFailed(f"unknown notification kind {kind!r}")
    if ":" not in citizen_subject:
        raise ValidationFailed("a citizen subject is afm:… or amka:…")
    event = Event(
        subject=citizen_subject,
        kind=kind,
        data=dict(data),
        at=at or dt.datetime.now(dt.UTC),
        not_before=not_before,
        dedupe_key=dedupe_key,
    )
    _insert(session, [_row(event)])


class OutboxWriter:
    """Writes the outbox rows of access-log entries, in the log's own transaction."""

    def __init__(self, hidden_until: HiddenUntil) -> None:
        self._hidden_until = hidden_until

    def __call__(self, session: Session, entries: Sequence[AccessEntry]) -> None:
        rows: list[dict[str, Any]] = []
        for event in events_for(entries, self._hidden_until):
            found = (
                self._with_request_id(session, event)
                if event.kind == "consent_requested"
                else event
            )
            rows.append(_row(found))
        _insert(session, rows)

    @staticmethod
    def _with_request_id(session: Session, event: Event) -> Event:
        # The entry names no consent-request id; the request row was written
        # (and flushed) in this very transaction, at the entry's time.
        found = session.scalar(
            select(ConsentRequestRow.id)
            .where(
                ConsentRequestRow.subject == event.subject,
                ConsentRequestRow.created_at == _utc(event.at),
                ConsentRequestRow.agency_id == event.data.get("agency"),
            )
            .limit(1)
        )
        if found is None:
            return event
        return Event(
            subject=event.subject,
            kind=event.kind,
            data={**event.data, "request_id": found},
            at=event.at,
            not_before=event.not_before,
        )
