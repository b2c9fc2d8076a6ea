"""Agency webhooks on the hub's database: endpoints, the delivery queue, attempts.

:class:`SqlWebhookStore` implements the three ports of
:mod:`hub.webhooks.ports`:

* ``publish_in`` adds one pending delivery per subscribed endpoint inside the
  caller's transaction, so a delivery exists exactly when its change committed;
* ``claim`` leases due deliveries: on PostgreSQL the candidate rows are
  selected ``FOR UPDATE SKIP LOCKED``, so workers on several nodes never take
  the same row, and the lease (``lease_until``) is committed before the HTTP
  call, so no transaction stays open while a receiver thinks; on SQLite the
  transaction holds the database's write lock from ``BEGIN``;
* ``finish`` records the attempt and sets the next state in one transaction.

:func:`announce_expired_requests` is the sweep that turns consent requests
left undecided past their expiry into ``consent.expired`` events, once each.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from hub.persistence.consent_models import ConsentRequestRow
from hub.persistence.db import Database
from hub.persistence.webhook_models import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow
from hub.webhooks.models import AgencyEvent, Attempt, Delivery, DeliveryStatus, Endpoint

__all__ = ["SqlWebhookStore", "event_body"]

_ANNOUNCE_BATCH = 100


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _opt_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value)


def _iso(value: dt.datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def event_body(message_id: str, event: AgencyEvent) -> str:
    """The JSON every attempt sends: ``type``, ``timestamp`` and ``data`` (Standard Webhooks)."""
    return json.dumps(
        {"id": message_id, "type": event.type, "timestamp": _iso(event.at), "data": event.data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    return Endpoint(
        id=row.id,
        agency_id=row.agency_id,
        url=row.url,
        event_types=tuple(json.loads(row.event_types)),
        created_at=_utc(row.created_at),
        secret=row.secret,
    )


def _attempt(row: WebhookAttemptRow) -> Attempt:
    return Attempt(
        number=row.number,
        at=_utc(row.at),
        outcome="delivered" if row.outcome == "delivered" else "failed",
        duration_ms=row.duration_ms,
        status_code=row.status_code,
        error=row.error,
    )


def _delivery(row: WebhookDeliveryRow, attempts: Sequence[Attempt] = ()) -> Delivery:
    status: DeliveryStatus = row.status  # type: ignore[assignment]  # written only by this module
    return Delivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        agency_id=row.agency_id,
        event_type=row.event_type,
        body=row.body,
        status=status,
        created_at=_utc(row.created_at),
        next_attempt_at=_opt_utc(row.next_attempt_at),
        attempt_count=row.attempt_count,
        attempts=tuple(attempts),
    )


class SqlWebhookStore:
    """Endpoints, deliveries and attempts; see the module docstring for the locking."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- publishing (inside the caller's transaction) ------------------------------

    def publish_in(self, transaction: Any, event: AgencyEvent) -> int:
        session: Session = transaction
        rows = session.scalars(
            select(WebhookEndpointRow).where(
                WebhookEndpointRow.agency_id == event.agency_id,
                WebhookEndpointRow.removed_at.is_(None),
            )
        ).all()
        queued = 0
        for row in rows:
            if event.type not in json.loads(row.event_types):
                continue
            message_id = "msg_" + uuid.uuid4().hex
            session.add(
                WebhookDeliveryRow(
                    id=message_id,
                    endpoint_id=row.id,
                    agency_id=event.agency_id,
                    event_type=event.type,
                    body=event_body(message_id, event),
                    status="pending",
                    created_at=_utc(event.at),
                    next_attempt_at=_utc(event.at),
                    lease_until=None,
                    attempt_count=0,
                )
            )
            queued += 1
        session.flush()
        return queued

    def publish(self, event: AgencyEvent) -> int:
        """Publish in a transaction of its own (an event with no other change)."""
        with self.db.session() as session:
            return self.publish_in(session, event)

    # -- endpoints ---------------------------------------------------------------------

    def add(self, endpoint: Endpoint, *, limit: int) -> bool:
        with self.db.session() as session:
            count = session.scalar(
                select(func.count())
                .select_from(WebhookEndpointRow)
                .where(
                    WebhookEndpointRow.agency_id == endpoint.agency_id,
                    WebhookEndpointRow.removed_at.is_(None),
                )
            )
            if int(count or 0) >= limit:
                return False
            session.add(
                WebhookEndpointRow(
                    id=endpoint.id,
                    agency_id=endpoint.agency_id,
                    url=endpoint.url,
                    event_types=json.dumps(list(endpoint.event_types)),
                    secret=endpoint.secret,
                    created_at=_utc(endpoint.created_at),
                )
            )
        return True

    def endpoints_of(self, agency_id: str) -> list[Endpoint]:
        query = (
            select(WebhookEndpointRow)
            .where(
                WebhookEndpointRow.agency_id == agency_id,
                WebhookEndpointRow.removed_at.is_(None),
            )
            .order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
        )
        with self.db.session() as session:
            return [_endpoint(row) for row in session.scalars(query)]

    def get(self, endpoint_id: str) -> Endpoint | None:
        with self.db.session() as session:
            row = session.get(WebhookEndpointRow, endpoint_id)
            return None if row is None or row.removed_at is not None else _endpoint(row)

    def remove(self, endpoint_id: str, *, at: dt.datetime) -> None:
        with self.db.session() as session:
            session.execute(
                update(WebhookEndpointRow)
                .where(WebhookEndpointRow.id == endpoint_id)
                .values(removed_at=_utc(at))
            )
            session.execute(
                update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.endpoint_id == endpoint_id,
                    WebhookDeliveryRow.status == "pending",
                )
                .values(status="cancelled", next_attempt_at=None)
            )

    def deliveries_of(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        with self.db.session() as session:
            rows = session.scalars(
                select(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.endpoint_id == endpoint_id)
                .order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id)
                .limit(limit)
            ).all()
            attempts: dict[str, list[Attempt]] = {row.id: [] for row in rows}
            if rows:
                for attempt in session.scalars(
                    select(WebhookAttemptRow)
                    .where(WebhookAttemptRow.delivery_id.in_(list(attempts)))
                    .order_by(WebhookAttemptRow.number)
                ):
                    attempts[attempt.delivery_id].append(_attempt(attempt))
            return [_delivery(row, attempts[row.id]) for row in rows]

    # -- the queue ------------------------------------------------------------------------

    def claim(
        self, *, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[tuple[Delivery, Endpoint]]:
        at = _utc(now)
        with self.db.session() as session:
            candidates = (
                select(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.status == "pending",
                    WebhookDeliveryRow.next_attempt_at <= at,
                    or_(
                        WebhookDeliveryRow.lease_until.is_(None),
                        WebhookDeliveryRow.lease_until <= at,
                    ),
                )
                .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            rows = session.scalars(candidates).all()
            claimed: list[tuple[Delivery, Endpoint]] = []
            for row in rows:
                row.lease_until = at + lease
                endpoint = session.get(WebhookEndpointRow, row.endpoint_id)
                if endpoint is None:  # pragma: no cover - a foreign key keeps it
                    continue
                claimed.append((_delivery(row), _endpoint(endpoint)))
            return claimed

    def finish(
        self,
        delivery_id: str,
        attempt: Attempt,
        *,
        next_attempt_at: dt.datetime | None,
        dead: bool,
    ) -> None:
        failed = "dead" if dead else "pending"
        status = "delivered" if attempt.outcome == "delivered" else failed
        with self.db.session() as session:
            session.add(
                WebhookAttemptRow(
                    delivery_id=delivery_id,
                    number=attempt.number,
                    at=_utc(attempt.at),
                    outcome=attempt.outcome,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                )
            )
            session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id)
                # An endpoint removed meanwhile keeps its delivery cancelled.
                .where(WebhookDeliveryRow.status == "pending")
                .values(
                    status=status,
                    attempt_count=attempt.number,
                    next_attempt_at=_opt_utc(next_attempt_at) if status == "pending" else None,
                    lease_until=None,
                )
            )

    # -- sweeps -----------------------------------------------------------------------------

    def announce_expired_requests(self, now: dt.datetime) -> int:
        """``consent.expired`` for each request left undecided past its expiry, once."""
        at = _utc(now)
        with self.db.session() as session:
            query = (
                select(ConsentRequestRow)
                .where(
                    ConsentRequestRow.decision.is_(None),
                    ConsentRequestRow.expires_at <= at,
                    ConsentRequestRow.expiry_announced_at.is_(None),
                )
                .order_by(ConsentRequestRow.expires_at)
                .limit(_ANNOUNCE_BATCH)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            for row in rows:
                row.expiry_announced_at = at
                self.publish_in(
                    session,
                    AgencyEvent(
                        agency_id=row.agency_id,
                        type="consent.expired",
                        at=_utc(row.expires_at),
                        data={
                            "request_id": row.id,
                            "status": "expired",
                            "purpose": row.purpose,
                            "expired_at": _iso(row.expires_at),
                        },
                    ),
                )
            return len(rows)
