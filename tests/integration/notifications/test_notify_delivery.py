"""Delivery that loses nothing and sends nothing twice, against real providers.

A rolled-back change sends nothing; a provider that is down is retried with
backoff and then dead-lettered; a worker SIGKILLed while the provider holds
its answer leaves the message to the next worker, which the provider
recognises by its idempotency key (one message reaches the citizen); two
worker processes on one PostgreSQL database deliver each message once.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.sandbox.messages import GATEWAY_TOKEN
from hub.config import Settings
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.persistence import migrate
from hub.persistence.notification_models import NotificationMessageRow, OutboxRow
from hub.persistence.outbox import enqueue_in
from tests.common.database import POSTGRES_URL
from tests.common.hubs import ROOT, hub_environment
from tests.common.server import free_port
from tests.integration.notifications.conftest import Providers, notify_settings


def _adults(citizens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in citizens if not c["deceased"] and not c["minor"] and c["mobile"]]


def _wait(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.fixture
def services_for() -> Iterator[Callable[[Settings], Any]]:
    from hub.app import build_services  # noqa: PLC0415

    built: list[Any] = []

    def build(settings: Settings) -> Any:
        services = build_services(settings)
        migrate.upgrade(services.db)
        built.append(services)
        return services

    yield build
    for services in built:
        services.close()


def _statuses(services: Any) -> list[tuple[str, int, str | None]]:
    with services.db.session() as session:
        rows = session.execute(
            select(
                NotificationMessageRow.status,
                NotificationMessageRow.attempts,
                NotificationMessageRow.last_error,
            )
        )
        return [(str(s), int(a), e) for s, a, e in rows]


def _access(afm: str, at: dt.datetime | None = None) -> AccessEntry:
    return AccessEntry(
        time=at or dt.datetime.now(dt.UTC),
        actor=Actor("agency", "opeka", "m.georgiou"),
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{afm}",
        evidence_type="family-status",
        purpose="social-benefit-eligibility",
        legal_basis="law",
    )


class Boom(Exception):
    """The state change fails after its log entry was written."""


def _change_that_fails(services: Any, afm: str) -> None:
    with services.db.sessions() as session, session.begin():
        services.access_log.append_in(session, [_access(afm)])
        enqueue_in(session, f"afm:{afm}", "case_status", {"agency": "opeka"})
        raise Boom


def test_a_rolled_back_change_sends_nothing(
    settings: Settings,
    providers: Providers,
    citizens: list[dict[str, Any]],
    services_for: Callable[[Settings], Any],
) -> None:
    services = services_for(notify_settings(settings, providers))
    alice, bob = _adults(citizens)[:2]
    with pytest.raises(Boom):
        _change_that_fails(services, alice["afm"])
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 0
    # The same change committed is told (so the test above could have failed).
    with services.db.session() as session:
        services.access_log.append_in(session, [_access(bob["afm"])])
    while services.notifications.run_once():
        pass
    assert providers.box.list(to=[alice["email"], alice["mobile"]]) == []
    (mail,) = providers.box.list(to=[bob["email"]])
    assert mail["subject"] == "Πρόσβαση στα δεδομένα σας"


def test_a_provider_that_is_down_is_retried_then_dead_lettered(
    settings: Settings,
    citizens: list[dict[str, Any]],
    services_for: Callable[[Settings], Any],
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1/messages"  # nothing listens there
    services = services_for(
        replace(
            settings,
            sms_url=down,
            sms_token=GATEWAY_TOKEN,
            notify_max_attempts=3,
            notify_backoff_seconds=0.05,
        )
    )
    alice = _adults(citizens)[0]
    with services.db.session() as session:
        enqueue_in(session, f"afm:{alice['afm']}", "case_status", {"agency": "opeka"})
    service = services.notifications
    seen: list[tuple[str, int]] = []

    def dead() -> bool:
        service.run_once()
        found = _statuses(services)
        seen.extend((status, attempts) for status, attempts, _ in found)
        return bool(found) and found[0][0] == "dead"

    _wait(dead)
    ((status, attempts, error),) = _statuses(services)
    assert (status, attempts) == ("dead", 3)
    assert error is not None
    assert "unreachable" in error
    assert ("failed", 1) in seen
    assert ("failed", 2) in seen
    # An operator queues it again: a fresh count of attempts.
    assert service.retry([], all_dead=True) == 1
    assert _statuses(services)[0][:2] == ("queued", 0)


def _worker(settings: Settings, providers: Providers, log: Path) -> subprocess.Popen[bytes]:
    env = hub_environment(settings, free_port())
    env.update(
        {
            "HUB_SMS_URL": providers.gateway_url + "/v1/messages",
            "HUB_SMS_TOKEN": GATEWAY_TOKEN,
            "HUB_SMTP_HOST": "127.0.0.1",
            "HUB_SMTP_PORT": str(providers.smtp_port),
            "HUB_NOTIFY_LEASE_SECONDS": "1",
            # A send's lease lasts past its deadline (and a 2 s margin): a
            # short deadline lets a killed worker's message go to the next
            # soon. The gateway stores the message long before this.
            "HUB_SMS_TIMEOUT": "3",
            "HUB_SMTP_TIMEOUT": "3",
            "HUB_NOTIFY_POLL_SECONDS": "0.05",
            "HUB_NOTIFY_BATCH": "10",
            "HUB_NOTIFY_WORKERS": "2",
        }
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "notifications", "work"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_worker_killed_mid_send_delivers_exactly_once_after_restart(
    settings: Settings,
    providers: Providers,
    citizens: list[dict[str, Any]],
    services_for: Callable[[Settings], Any],
    tmp_path: Path,
) -> None:
    services = services_for(settings)
    alice = _adults(citizens)[0]
    with services.db.session() as session:
        # Opt out of email, so the one message in flight is the SMS.
        enqueue_in(session, f"afm:{alice['afm']}", "case_status", {"agency": "opeka"})
    services.notifications.store.set_preferences(alice["afm"], {("case_status", "email"): "off"})
    providers.gateway.hold = 5.0  # The gateway stores the message, then keeps the hub waiting.
    first = _worker(settings, providers, tmp_path / "worker.log")
    try:
        _wait(lambda: providers.box.count() == 1)
        assert _statuses(services)[0][0] == "sending"
        first.send_signal(signal.SIGKILL)  # Mid-delivery: sent, but never recorded as sent.
        first.wait(timeout=10)
    finally:
        _stop(first)
    providers.gateway.hold = 0.0
    second = _worker(settings, providers, tmp_path / "worker.log")
    try:
        _wait(lambda: _statuses(services)[0][0] in ("sent", "delivered"))
    finally:
        _stop(second)
    ((status, attempts, _),) = _statuses(services)
    assert attempts == 2
    # The provider saw the message twice under one key and delivered it once.
    assert providers.box.count() == 1
    assert list(providers.box.hits().values()) == [2]
    assert len(providers.box.list(to=[alice["mobile"]])) == 1
    assert status in ("sent", "delivered")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="set HUB_TEST_DATABASE_URL to a PostgreSQL URL")
def test_two_worker_processes_on_postgresql_deliver_each_message_once(
    settings: Settings,
    providers: Providers,
    citizens: list[dict[str, Any]],
    services_for: Callable[[Settings], Any],
    tmp_path: Path,
) -> None:
    services = services_for(settings)
    people = _adults(citizens)[:40]
    with services.db.session() as session:
        for person in people:
            enqueue_in(session, f"afm:{person['afm']}", "certificate_issued", {})
    workers = [_worker(settings, providers, tmp_path / f"worker{n}.log") for n in range(2)]
    try:
        _wait(
            lambda: (
                len(_statuses(services)) == len(people)
                and all(s == "sent" for s, _, _ in _statuses(services))
            ),
            timeout=60,
        )
    finally:
        for worker in workers:
            _stop(worker)
    assert providers.box.count() == len(people)
    assert set(providers.box.hits().values()) == {1}, "a message reached the provider twice"
    assert {m["to"] for m in providers.box.list()} == {p["email"] for p in people}


def test_digest_choices_wait_for_the_digest_hour_and_go_as_one_message(
    settings: Settings,
    providers: Providers,
    citizens: list[dict[str, Any]],
    services_for: Callable[[Settings], Any],
) -> None:
    from adapters.notify_smtp import SmtpSender  # noqa: PLC0415
    from hub.notifications.service import DeliveryPolicy, NotificationService  # noqa: PLC0415
    from tests.common.consent import Clock  # noqa: PLC0415

    services = services_for(settings)
    clock = Clock(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    service = NotificationService(
        store=services.notifications.store,
        catalog=services.catalog.catalog,
        public_url="https://hub.example",
        senders={"email": SmtpSender("127.0.0.1", providers.smtp_port, sender="hub@example.gr")},
        directory=services.notifications.directory,
        policy=DeliveryPolicy(digest_hour=6),
        clock=clock,
    )
    alice = _adults(citizens)[0]
    service.store.set_preferences(
        alice["afm"], {("access", "email"): "digest", ("certificate_issued", "email"): "digest"}
    )
    with services.db.session() as session:
        # Both events happen at the test's clock: an entry stamped with the
        # real time would be in this clock's future whenever the suite runs
        # after 09:00 UTC, and would wait for the next day's digest.
        services.access_log.append_in(session, [_access(alice["afm"], at=clock.now)])
        enqueue_in(session, f"afm:{alice['afm']}", "certificate_issued", {}, at=clock.now)
    while service.run_once():
        pass
    assert providers.box.count() == 0  # Not before 06:00 tomorrow.
    clock.travel(hours=21, minutes=1)
    while service.run_once():
        pass
    (digest,) = providers.box.list(to=[alice["email"]])
    assert digest["subject"] == "Σύνοψη ειδοποιήσεων"
    assert digest["text"].count("\n- ") == 2
    assert [s for s, _, _ in _statuses(services)] == ["sent", "sent"]
    service.close()
