"""A send that outlasts its lease still reaches the provider once.

Two nodes (two services, each with its own senders and two worker threads,
as ``HUB_NOTIFY_WORKERS=2`` runs them) share one database and a provider
that answers slower than the lease: it stores each message at once, then
holds its answer. A worker whose lease ran out mid-send would let the other
node claim the message and send it again; the provider counts every time a
key reaches it, so such a second send shows even though it stores the
message once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from adapters.notify_http import JsonGatewaySender
from adapters.notify_smtp import SmtpSender
from adapters.sandbox.messages import GATEWAY_TOKEN
from hub.config import Settings
from hub.notifications.ports import ChannelSender
from hub.notifications.service import DeliveryPolicy, NotificationService, NotificationWorker
from hub.persistence.notification_models import NotificationMessageRow
from hub.persistence.outbox import enqueue_in
from tests.common.hubs import migrated_services
from tests.integration.notifications.conftest import Providers

#: Shorter than the provider's answer, as the crash test's one-second lease is.
LEASE = 1.0


@pytest.fixture
def services(settings: Settings) -> Iterator[Any]:
    with migrated_services(settings) as built:
        yield built


def _node(services: Any, senders: Mapping[str, ChannelSender]) -> NotificationService:
    return NotificationService(
        store=services.notifications.store,
        catalog=services.catalog.catalog,
        public_url="https://hub.example",
        senders=senders,
        directory=services.notifications.directory,
        policy=DeliveryPolicy(lease=LEASE, batch=2, poll=0.05),
    )


@contextmanager
def _running(nodes: list[NotificationService], threads: int = 2) -> Iterator[None]:
    workers = [
        NotificationWorker(node, name=f"node{n}-{t}")
        for n, node in enumerate(nodes)
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.stop(timeout=30)
        for node in nodes:
            node.close()


def _statuses(services: Any) -> list[str]:
    with services.db.session() as session:
        return [str(s) for s in session.scalars(select(NotificationMessageRow.status))]


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _enqueue(services: Any, people: list[dict[str, Any]], kind: str) -> None:
    with services.db.session() as session:
        for person in people:
            enqueue_in(session, f"afm:{person['afm']}", kind, {"agency": "opeka"})


def _adults(citizens: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    found = [c for c in citizens if not c["deceased"] and not c["minor"] and c["mobile"]]
    return found[:count]


def _all_sent(services: Any, count: int) -> Callable[[], bool]:
    def done() -> bool:
        found = _statuses(services)
        return len(found) == count and all(s in ("sent", "delivered") for s in found)

    return done


def test_a_gateway_slower_than_the_lease_gets_each_message_once(
    services: Any, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    people = _adults(citizens, 6)
    providers.gateway.hold = 1.5  # Stored at once, answered after the lease ran out.
    url = providers.gateway_url + "/v1/messages"
    nodes = [
        _node(
            services,
            {"sms": JsonGatewaySender("sms", url, token=GATEWAY_TOKEN, sender="GOV", timeout=3)},
        )
        for _ in range(2)
    ]
    # SMS only: the nodes have no email sender, so only the SMS is planned.
    _enqueue(services, people, "case_status")
    with _running(nodes):
        _wait(_all_sent(services, len(people)))
    assert providers.box.count() == len(people)
    assert set(providers.box.hits().values()) == {1}, "a message reached the provider twice"


def test_an_smtp_server_slower_than_the_lease_gets_each_message_once(
    services: Any, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    people = _adults(citizens, 8)
    # Each answer takes most of the lease: a worker thread that waited for
    # its node's other thread to finish a send before starting its own ran
    # out of lease mid-send.
    providers.mail.hold = 0.7
    nodes = [
        _node(
            services,
            {"email": SmtpSender("127.0.0.1", providers.smtp_port, sender="hub@x.gr", timeout=3)},
        )
        for _ in range(2)
    ]
    _enqueue(services, people, "certificate_issued")
    with _running(nodes):
        _wait(_all_sent(services, len(people)))
    assert providers.box.count() == len(people)
    assert set(providers.box.hits().values()) == {1}, "a message reached the provider twice"
