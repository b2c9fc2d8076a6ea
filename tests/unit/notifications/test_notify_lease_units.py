"""The lease a send starts under covers the send's deadline and the margin.

A small store stands in for the database here: it hands out one claimed
message and records what the service asks of it, on a clock the test moves
(the integration tests run the same rule against real providers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from hub.catalog.files import load_catalog
from hub.notifications.models import Channel, ClaimedMessage, Outgoing
from hub.notifications.service import DeliveryPolicy, NotificationService
from tests.common.consent import SPECS, Clock

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
DEADLINE = 10.0


class Store:
    """The claiming and settling part of the notification store, in memory."""

    def __init__(self, clock: Clock, lease_until: dt.datetime, *, owned: bool = True) -> None:
        self.clock = clock
        self.lease_until = lease_until
        self.owned = owned
        self.renewals: list[dt.datetime] = []
        self.released = False
        self.sent = False
        #: Seconds the next renewal takes (a loaded database).
        self.renew_takes = 0.0

    def claim_messages(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[Any]:
        message = ClaimedMessage(
            id="m1",
            subject="afm:1",
            kind="certificate_issued",
            channel="email",
            address="a@example.gr",
            language="el",
            digest=False,
            attempts=1,
            event_at=NOW,
            data={},
            lease="token",
            lease_until=self.lease_until,
        )
        return [message]

    def renew(self, ids: Sequence[str], lease: str, until: dt.datetime) -> bool:
        self.clock.travel(seconds=self.renew_takes)
        self.renewals.append(until)
        return self.owned

    def release(self, ids: Sequence[str], lease: str, retry_at: dt.datetime) -> None:
        self.released = True

    def mark_sent(self, ids: Sequence[str], lease: str, provider_id: str, now: Any) -> None:
        self.sent = True


class Sender:
    channel: Channel = "email"
    deadline = DEADLINE

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return "provider-1"

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(SPECS / "catalog").catalog


def _deliver(catalog: Any, store: Store, clock: Clock, lease: float) -> Sender:
    sender = Sender()
    service = NotificationService(
        store=store,  # type: ignore[arg-type]  # the part of the port delivery uses
        catalog=catalog,
        public_url="https://hub.example",
        senders={"email": sender},
        policy=DeliveryPolicy(lease=lease, lease_margin=2.0),
        clock=clock,
    )
    service.deliver()
    return sender


def test_a_lease_that_covers_the_send_is_not_renewed(catalog: Any) -> None:
    clock = Clock(NOW)
    store = Store(clock, NOW + dt.timedelta(seconds=60))
    sender = _deliver(catalog, store, clock, lease=60)
    assert store.renewals == []
    assert len(sender.sent) == 1
    assert store.sent


def test_a_lease_shorter_than_the_send_is_renewed_past_its_deadline(catalog: Any) -> None:
    # A one-second lease (HUB_NOTIFY_LEASE_SECONDS=1) and a 10 s deadline.
    clock = Clock(NOW)
    store = Store(clock, NOW + dt.timedelta(seconds=1))
    sender = _deliver(catalog, store, clock, lease=1)
    assert store.renewals == [NOW + dt.timedelta(seconds=DEADLINE + 2.0)]
    assert len(sender.sent) == 1


def test_a_long_lease_is_renewed_in_full_once_too_little_is_left(catalog: Any) -> None:
    clock = Clock(NOW)
    store = Store(clock, NOW + dt.timedelta(seconds=11.9))
    _deliver(catalog, store, clock, lease=60)
    assert store.renewals == [NOW + dt.timedelta(seconds=60)]


def test_a_lease_another_worker_took_over_is_left_alone(catalog: Any) -> None:
    clock = Clock(NOW)
    store = Store(clock, NOW + dt.timedelta(seconds=1), owned=False)
    sender = _deliver(catalog, store, clock, lease=1)
    assert sender.sent == []
    assert not store.sent
    assert not store.released


def test_a_renewal_too_slow_to_leave_the_send_its_deadline_sends_nothing(catalog: Any) -> None:
    clock = Clock(NOW)
    store = Store(clock, NOW + dt.timedelta(seconds=1))
    store.renew_takes = 2.5  # More than the margin: less than the deadline is left.
    sender = _deliver(catalog, store, clock, lease=1)
    assert sender.sent == []
    assert store.released
