"""The bank asks for consent; the citizen's sandbox mailbox and phone are told.

Real HTTP to a served hub, the real sandbox registries, a real SMTP server
(aiosmtpd) and the real sandbox SMS gateway; the message links to the
request's page and carries no AFM, AMKA or name.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from adapters.sandbox.contacts import SandboxContactRegistry
from adapters.sandbox.population import Population
from tests.common.clients import agency_token
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE
from tests.integration.notifications.conftest import Hub, Providers


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _contacts(afm: str) -> Any:
    registry = SandboxContactRegistry(Population(SANDBOX_SIZE, SANDBOX_SEED))
    return registry.lookup(f"afm:{afm}")


def _ask(hub: Hub, keys_dir: Path, citizen: dict[str, Any]) -> dict[str, Any]:
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    opened = hub.call(
        "POST",
        "/v1/consent-requests",
        bank,
        {
            "citizen": {"afm": citizen["afm"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
        },
    )
    assert opened.status_code == 201, opened.text
    request: dict[str, Any] = opened.json()
    return request


def _adult(citizens: list[dict[str, Any]], skip: int = 0) -> dict[str, Any]:
    found = [c for c in citizens if c["owns_property"] and not c["deceased"] and not c["minor"]]
    return found[skip]


def _no_identifiers(citizen: dict[str, Any], *texts: str) -> None:
    for text in texts:
        for secret in (citizen["afm"], citizen["amka"], citizen["name"], citizen["name_latin"]):
            assert secret not in text
        for part in citizen["name"].split() + citizen["name_latin"].split():
            assert part not in text


def test_a_consent_request_reaches_the_citizens_mailbox_and_phone(
    notifying_hub: Hub, providers: Providers, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    alice = _adult(citizens)
    contacts = _contacts(alice["afm"])
    request = _ask(notifying_hub, keys_dir, alice)

    mails = _wait(lambda: providers.box.list(to=[contacts.email], channel="email"))
    (mail,) = mails
    link = f"{notifying_hub.url}/me/requests/{request['id']}"
    assert link in mail["text"]
    assert mail["subject"] in ("Αίτημα συγκατάθεσης", "Consent request")
    _no_identifiers(alice, mail["text"], mail["subject"])

    (sms,) = _wait(lambda: providers.box.list(to=[contacts.mobile], channel="sms"))
    assert link in sms["text"]
    _no_identifiers(alice, sms["text"])

    # The gateway's signed delivery receipt moves the SMS to delivered.
    token = notifying_hub.citizen_token(alice)

    def delivered() -> Any:
        mine = notifying_hub.call("GET", "/v1/me/notifications", token).json()["items"]
        return [m for m in mine if m["channel"] == "sms" and m["status"] == "delivered"]

    _wait(delivered)
    # Nothing was sent twice.
    time.sleep(0.3)
    assert providers.box.count() == 2


def test_an_agency_opening_a_case_tells_the_citizen(
    notifying_hub: Hub, providers: Providers, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    bob = _adult(citizens, 1)
    contacts = _contacts(bob["afm"])
    opeka = agency_token(notifying_hub.url, keys_dir, "opeka")
    opened = notifying_hub.call(
        "PUT",
        "/v1/cases/EPI-2026-0042",
        opeka,
        {"citizen": {"afm": bob["afm"]}, "title": "Επίδομα παιδιού", "status": "received"},
    )
    assert opened.status_code == 201, opened.text
    (mail,) = _wait(lambda: providers.box.list(to=[contacts.email], channel="email"))
    assert f"{notifying_hub.url}/me/cases/EPI-2026-0042" in mail["text"]
    assert "Παραλήφθηκε" in mail["text"]
    _no_identifiers(bob, mail["text"], mail["subject"])
    (sms,) = _wait(lambda: providers.box.list(to=[contacts.mobile], channel="sms"))
    _no_identifiers(bob, sms["text"])


def test_a_consent_about_to_expire_is_announced_once(
    notifying_hub: Hub, providers: Providers, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    import datetime as dt  # noqa: PLC0415

    carol = _adult(citizens, 2)
    contacts = _contacts(carol["afm"])
    request = _ask(notifying_hub, keys_dir, carol)
    token = notifying_hub.citizen_token(carol)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    decided = notifying_hub.call(
        "POST",
        f"/v1/me/consent-requests/{request['id']}/decision",
        token,
        {"decision": "approve", "valid_until": soon},
    )
    assert decided.status_code == 200, decided.text
    service = notifying_hub.services.notifications
    assert service.scan_expiring() == 1
    assert service.scan_expiring() == 1  # seen again, but enqueued once (dedupe key)

    def expiring() -> Any:
        return [
            m
            for m in providers.box.list(to=[contacts.email])
            if m["subject"] in ("Η συγκατάθεσή σας λήγει σύντομα", "Your consent expires soon")
        ]

    _wait(expiring)
    time.sleep(0.5)
    assert len(expiring()) == 1


def test_the_cli_shows_what_the_citizen_received_and_the_operator_sees_its_status(
    notifying_hub: Hub, providers: Providers, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from tests.common.hubs import ROOT, hub_environment  # noqa: PLC0415

    dora = _adult(citizens, 3)
    request = _ask(notifying_hub, keys_dir, dora)
    contacts = _contacts(dora["afm"])
    _wait(lambda: providers.box.list(to=[contacts.email]))
    settings = notifying_hub.services.settings
    env = hub_environment(settings, settings.port)
    env["HUB_SANDBOX_MESSAGES"] = str(providers.box.path)

    def hub(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "hub", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return json.loads(done.stdout)

    received = hub("sandbox", "messages", "--to", dora["afm"], "--channel", "email")
    assert [m["channel"] for m in received] == ["email"]
    assert set(received[0]) == {"channel", "to", "subject", "text", "sent_at"}
    assert f"/me/requests/{request['id']}" in received[0]["text"]
    assert dora["afm"] not in json.dumps(received, ensure_ascii=False)
    listed = hub("notifications", "list", "--channel", "email")
    assert any(m["to"] == contacts.email and m["status"] == "sent" for m in listed)

    metrics = notifying_hub.call("GET", "/metrics").text
    assert 'hub_notifications_total{channel="email",outcome="sent"}' in metrics
    assert "hub_notification_oldest_waiting_seconds" in metrics
    assert 'hub_notification_queue{channel="email",status="sent"}' in metrics
