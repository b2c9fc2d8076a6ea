"""Notifications in the hub's database: claiming, settling and listing messages.

Every node of a deployment runs workers on the same tables, so claiming is
what keeps delivery single: on PostgreSQL a worker selects due rows with
``FOR UPDATE SKIP LOCKED`` (a row another node holds is skipped, not waited
for) and, in the same short transaction, leases them: ``status='sending'``
until ``next_attempt_at``. The send itself happens outside any transaction,
so no lock is held across a network call; a node that dies mid-send leaves
its lease to expire, and the next claim takes the message again — the
provider sees the same idempotency key (the message id) and does not send
twice. SQLite has one writer at a time anyway (``BEGIN IMMEDIATE``).

The contact registry's tables (contacts, pending codes, preferences, the
citizen's language and AMKA) are read and written here too.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, text, update
from sqlalchemy.orm import Session

from hub.notifications.models import (
    CitizenSettings,
    ClaimedEvent,
    ClaimedMessage,
    ContactPoints,
    MessageView,
    PlannedMessage,
    Verification,
)
from hub.persistence.consent_models import ConsentRow
from hub.persistence.db import Database
from hub.persistence.notification_models import (
    ContactRow,
    ContactVerificationRow,
    NotificationMessageRow,
    OutboxRow,
    PreferenceRow,
    ProfileRow,
)
from hub.persistence.outbox import enqueue_in

__all__ = ["SqlNotificationStore"]

#: The key of the PostgreSQL advisory lock that makes the expiry scan a
#: cluster-wide singleton ("notify" in ASCII).
_SCAN_LOCK = 0x6E6F74696679


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        # SQLite hands back naive datetimes; the hub stores UTC only.
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _afm(subject: str) -> str | None:
    kind, _, value = subject.partition(":")
    return value if kind == "afm" else None


def _view(row: NotificationMessageRow) -> MessageView:
    return MessageView(
        id=row.id,
        kind=row.kind,
        channel=row.channel,
        to=row.address,
        status=row.status,
        attempts=row.attempts,
        created_at=_utc(row.created_at),
        sent_at=_utc(row.sent_at) if row.sent_at else None,
        delivered_at=_utc(row.delivered_at) if row.delivered_at else None,
        next_attempt_at=_utc(row.next_attempt_at),
        last_error=row.last_error,
        digest=row.digest,
    )


class SqlNotificationStore:
    """The outbox, messages and contact registry on the hub's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _skip_locked(self, query: Any) -> Any:
        return query if self.db.is_sqlite else query.with_for_update(skip_locked=True)

    # -- citizens ---------------------------------------------------------------------

    def _afm_in(self, session: Session, subject: str) -> str | None:
        afm = _afm(subject)
        if afm is not None:
            return afm
        kind, _, value = subject.partition(":")
        if kind != "amka":
            return None
        return session.scalar(select(ProfileRow.afm).where(ProfileRow.amka == value))

    def _settings_in(self, session: Session, subject: str) -> CitizenSettings:
        afm = self._afm_in(session, subject)
        if afm is None:
            return CitizenSettings(None, ContactPoints(), False, {})
        profile = session.get(ProfileRow, afm)
        found = {
            row.kind: row.address
            for row in session.scalars(select(ContactRow).where(ContactRow.afm == afm))
        }
        preferences = {
            (row.kind, row.channel): row.mode
            for row in session.scalars(select(PreferenceRow).where(PreferenceRow.afm == afm))
        }
        return CitizenSettings(
            afm,
            ContactPoints(
                email=found.get("email"),
                mobile=found.get("mobile"),
                language=profile.language if profile else "el",
            ),
            profile is not None,
            preferences,
        )

    def settings(self, subject: str) -> CitizenSettings:
        with self.db.session() as session:
            return self._settings_in(session, subject)

    def save_profile(self, afm: str, amka: str | None, language: str | None) -> None:
        with self.db.session() as session:
            row = session.get(ProfileRow, afm)
            if row is None:
                session.add(ProfileRow(afm=afm, amka=amka, language=language or "el"))
                return
            if amka and row.amka != amka:
                row.amka = amka
            if language:
                row.language = language

    def set_preferences(self, afm: str, modes: Mapping[tuple[str, str], str]) -> None:
        with self.db.session() as session:
            for (kind, channel), mode in modes.items():
                row = session.get(PreferenceRow, (afm, kind, channel))
                if row is None:
                    session.add(PreferenceRow(afm=afm, kind=kind, channel=channel, mode=mode))
                else:
                    row.mode = mode

    def remove_contact(self, afm: str, kind: str) -> None:
        with self.db.session() as session:
            session.execute(
                delete(ContactRow).where(ContactRow.afm == afm, ContactRow.kind == kind)
            )

    # -- one-time codes ------------------------------------------------------------------

    def add_verification(
        self,
        ident: str,
        afm: str,
        kind: str,
        address: str,
        code_hash: str,
        *,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> str:
        """A new pending code; older pending codes of the same kind are dropped."""
        with self.db.session() as session:
            session.execute(
                delete(ContactVerificationRow).where(
                    ContactVerificationRow.afm == afm, ContactVerificationRow.kind == kind
                )
            )
            session.add(
                ContactVerificationRow(
                    id=ident,
                    afm=afm,
                    kind=kind,
                    address=address,
                    code_hash=code_hash,
                    created_at=now,
                    expires_at=now + ttl,
                    attempts=0,
                )
            )
        return ident

    def check_verification(
        self,
        afm: str,
        ident: str,
        matches: Callable[[str], bool],
        now: dt.datetime,
        max_attempts: int,
    ) -> Verification | None:
        """Spend one attempt on code ``ident``; the verification when the code matches.

        A matching code stores the contact and drops the code, in one
        transaction; a wrong one counts an attempt, and the last allowed
        attempt drops the code.
        """
        with self.db.session() as session:
            row = session.get(ContactVerificationRow, ident, with_for_update=not self.db.is_sqlite)
            if row is None or row.afm != afm:
                return None
            if _utc(row.expires_at) <= now or row.attempts >= max_attempts:
                session.delete(row)
                return None
            if not matches(row.code_hash):
                row.attempts += 1
                if row.attempts >= max_attempts:
                    session.delete(row)
                return None
            found = Verification(
                row.id, row.afm, row.kind, row.address, row.code_hash, row.expires_at, row.attempts
            )
            session.delete(row)
            contact = session.get(ContactRow, (afm, row.kind))
            if contact is None:
                session.add(
                    ContactRow(afm=afm, kind=row.kind, address=row.address, verified_at=now)
                )
            else:
                contact.address, contact.verified_at = row.address, now
            return found

    def pending_verifications(self, afm: str, now: dt.datetime) -> list[tuple[str, str, str]]:
        """(id, kind, address) of the citizen's codes still valid."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ContactVerificationRow).where(ContactVerificationRow.afm == afm)
            )
            return [(r.id, r.kind, r.address) for r in rows if _utc(r.expires_at) > now]

    # -- the outbox ---------------------------------------------------------------------

    def expand_due(
        self,
        now: dt.datetime,
        limit: int,
        plan: Callable[[ClaimedEvent, CitizenSettings], Sequence[PlannedMessage]],
    ) -> int:
        """Turn due events into messages (``plan`` decides which); how many events."""
        with self.db.session() as session:
            query = (
                select(OutboxRow)
                .where(OutboxRow.processed_at.is_(None), OutboxRow.not_before <= now)
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            rows = list(session.scalars(self._skip_locked(query)))
            for row in rows:
                event = ClaimedEvent(
                    row.id, row.subject, row.kind, json.loads(row.data), _utc(row.created_at)
                )
                for planned in plan(event, self._settings_in(session, row.subject)):
                    session.add(
                        NotificationMessageRow(
                            id=uuid.uuid4().hex,
                            event_id=row.id,
                            subject=row.subject,
                            kind=row.kind,
                            channel=planned.channel,
                            address=planned.address,
                            language=planned.language,
                            digest=planned.digest,
                            status="queued",
                            attempts=0,
                            next_attempt_at=planned.not_before,
                            event_at=_utc(row.created_at),
                            created_at=now,
                        )
                    )
                row.processed_at = now
            return len(rows)

    def claim_messages(
        self, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages to this worker (one attempt each)."""
        with self.db.session() as session:
            query = (
                select(NotificationMessageRow)
                .where(
                    NotificationMessageRow.status.in_(("queued", "failed", "sending")),
                    NotificationMessageRow.next_attempt_at <= now,
                )
                .order_by(NotificationMessageRow.next_attempt_at)
                .limit(limit)
            )
            rows = list(session.scalars(self._skip_locked(query)))
            if not rows:
                return []
            events = {
                row.id: json.loads(row.data)
                for row in session.scalars(
                    select(OutboxRow).where(OutboxRow.id.in_({r.event_id for r in rows}))
                )
            }
            claimed: list[ClaimedMessage] = []
            token = uuid.uuid4().hex
            for row in rows:
                row.status = "sending"
                row.attempts += 1
                row.next_attempt_at = now + lease
                row.lease = token
                claimed.append(
                    ClaimedMessage(
                        id=row.id,
                        subject=row.subject,
                        kind=row.kind,
                        channel=row.channel,
                        address=row.address,
                        language=row.language,
                        digest=row.digest,
                        attempts=row.attempts,
                        event_at=_utc(row.event_at),
                        data=events.get(row.event_id, {}),
                        lease=token,
                        lease_until=now + lease,
                    )
                )
            return claimed

    def _settle(self, ids: Iterable[str], lease: str, **values: Any) -> int:
        """Change messages still held under ``lease``; how many were."""
        with self.db.session() as session:
            result = session.execute(
                update(NotificationMessageRow)
                .where(
                    NotificationMessageRow.id.in_(list(ids)),
                    NotificationMessageRow.status == "sending",
                    NotificationMessageRow.lease == lease,
                )
                .values(**values)
            )
            return cast(CursorResult[Any], result).rowcount

    def renew(self, ids: Sequence[str], lease: str, until: dt.datetime) -> bool:
        """Extend the lease just before sending; False if it was lost meanwhile.

        A batch is claimed at once but sent one message after another; a
        message whose lease ran out while earlier ones were sent may have
        been claimed by another worker, which now sends it: this one skips it.
        """
        return self._settle(ids, lease, next_attempt_at=until) == len(ids)

    def mark_sent(self, ids: Sequence[str], lease: str, provider_id: str, now: dt.datetime) -> None:
        self._settle(
            ids, lease, status="sent", sent_at=now, provider_id=provider_id[:128], last_error=None
        )

    def mark_failed(
        self, ids: Sequence[str], lease: str, error: str, retry_at: dt.datetime
    ) -> None:
        self._settle(ids, lease, status="failed", next_attempt_at=retry_at, last_error=error[:200])

    def mark_dead(self, ids: Sequence[str], lease: str, error: str) -> None:
        self._settle(ids, lease, status="dead", last_error=error[:200])

    def release(self, ids: Sequence[str], lease: str, retry_at: dt.datetime) -> None:
        """Give leased messages back untried (a rate limit said wait)."""
        self._settle(
            ids,
            lease,
            status="queued",
            next_attempt_at=retry_at,
            attempts=NotificationMessageRow.attempts - 1,
        )

    def record_receipt(
        self, provider_id: str, delivered: bool, now: dt.datetime, error: str
    ) -> int:
        """A provider's delivery receipt; how many messages it settled."""
        values: dict[str, Any] = (
            {"status": "delivered", "delivered_at": now}
            if delivered
            else {"status": "dead", "last_error": error[:200] or "the provider could not deliver"}
        )
        with self.db.session() as session:
            result = session.execute(
                update(NotificationMessageRow)
                .where(
                    NotificationMessageRow.provider_id == provider_id[:128],
                    NotificationMessageRow.status.in_(("sent", "delivered")),
                )
                .values(**values)
            )
            return cast(CursorResult[Any], result).rowcount

    # -- listings and operators ----------------------------------------------------------

    def messages_for(self, subjects: Sequence[str], limit: int) -> list[MessageView]:
        with self.db.session() as session:
            rows = session.scalars(
                select(NotificationMessageRow)
                .where(NotificationMessageRow.subject.in_(list(subjects)))
                .order_by(NotificationMessageRow.created_at.desc(), NotificationMessageRow.id)
                .limit(limit)
            )
            return [_view(row) for row in rows]

    def messages(self, status: str | None, channel: str | None, limit: int) -> list[MessageView]:
        query = select(NotificationMessageRow)
        if status:
            query = query.where(NotificationMessageRow.status == status)
        if channel:
            query = query.where(NotificationMessageRow.channel == channel)
        query = query.order_by(
            NotificationMessageRow.created_at.desc(), NotificationMessageRow.id
        ).limit(limit)
        with self.db.session() as session:
            return [_view(row) for row in session.scalars(query)]

    def retry(self, ids: Sequence[str], now: dt.datetime, *, all_dead: bool = False) -> int:
        """Queue dead or failed messages again, with a fresh attempt count."""
        condition = (
            NotificationMessageRow.status == "dead"
            if all_dead
            else NotificationMessageRow.id.in_(list(ids))
        )
        with self.db.session() as session:
            result = session.execute(
                update(NotificationMessageRow)
                .where(condition, NotificationMessageRow.status.in_(("dead", "failed")))
                .values(status="queued", attempts=0, next_attempt_at=now, last_error=None)
            )
            return cast(CursorResult[Any], result).rowcount

    def dead_letter(self, ids: Sequence[str], reason: str) -> int:
        """Give up on messages an operator names (not those already sent)."""
        with self.db.session() as session:
            result = session.execute(
                update(NotificationMessageRow)
                .where(
                    NotificationMessageRow.id.in_(list(ids)),
                    NotificationMessageRow.status.in_(("queued", "failed", "sending")),
                )
                .values(status="dead", last_error=reason[:200])
            )
            return cast(CursorResult[Any], result).rowcount

    def queue_stats(self, now: dt.datetime) -> tuple[dict[tuple[str, str], int], float, int]:
        """Messages by (channel, status), the oldest waiting message's age, events pending."""
        with self.db.session() as session:
            counts = {
                (str(channel), str(status)): int(n)
                for channel, status, n in session.execute(
                    select(
                        NotificationMessageRow.channel,
                        NotificationMessageRow.status,
                        func.count(),
                    ).group_by(NotificationMessageRow.channel, NotificationMessageRow.status)
                )
            }
            oldest = session.scalar(
                select(func.min(NotificationMessageRow.created_at)).where(
                    NotificationMessageRow.status.in_(("queued", "failed", "sending")),
                    NotificationMessageRow.digest.is_(False),
                )
            )
            pending = int(
                session.scalar(
                    select(func.count()).where(
                        OutboxRow.processed_at.is_(None), OutboxRow.not_before <= now
                    )
                )
                or 0
            )
        age = max(0.0, (now - _utc(oldest)).total_seconds()) if oldest else 0.0
        return counts, age, pending

    # -- the expiry scan ----------------------------------------------------------------

    def enqueue_expiring(self, now: dt.datetime, within: dt.timedelta) -> int | None:
        """Enqueue "consent about to expire" once per consent; None if another node scans.

        On PostgreSQL a transaction-level advisory lock makes the scan a
        cluster-wide singleton; the dedupe key makes it idempotent anyway.
        """
        with self.db.session() as session:
            if not self.db.is_sqlite:
                locked = session.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _SCAN_LOCK}
                )
                if not locked:
                    return None
            rows = session.scalars(
                select(ConsentRow).where(
                    ConsentRow.revoked_at.is_(None),
                    ConsentRow.used_at.is_(None),
                    ConsentRow.valid_until > now,
                    ConsentRow.valid_until <= now + within,
                )
            )
            count = 0
            for row in rows:
                enqueue_in(
                    session,
                    f"afm:{row.citizen_afm}",
                    "consent_expiring",
                    {
                        "agency": row.agency_id,
                        "purpose": row.purpose,
                        "consent_id": row.id,
                        "valid_until": _utc(row.valid_until).isoformat(),
                    },
                    at=now,
                    dedupe_key=f"consent_expiring:{row.id}",
                )
                count += 1
            return count
