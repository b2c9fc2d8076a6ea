"""The contact registry over real HTTP: codes through the real channel, refusals, receipts."""

from __future__ import annotations

import re
import time
from typing import Any

import requests

from adapters.sandbox.messages import sign_receipt
from hub.errors import PROBLEM_BASE
from tests.integration.notifications.conftest import Hub, Providers


def _citizen(citizens: list[dict[str, Any]], skip: int = 0) -> dict[str, Any]:
    return [c for c in citizens if not c["deceased"] and not c["minor"]][skip]


def _problem(response: requests.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == PROBLEM_BASE + slug


def _code(providers: Providers, to: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = providers.box.list(to=[to])
        if found:
            match = re.search(r"\b(\d{6})\b", found[-1]["text"])
            assert match is not None
            return match.group(1)
        time.sleep(0.05)
    raise AssertionError("no code arrived")


def test_a_new_email_is_confirmed_by_the_code_sent_to_it(
    notifying_hub: Hub, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    alice = _citizen(citizens)
    token = notifying_hub.citizen_token(alice)
    before = notifying_hub.call("GET", "/v1/me/contacts", token)
    assert before.status_code == 200
    assert before.headers["Cache-Control"] == "no-store"
    assert before.json()["email"]["source"] == "registry"

    started = notifying_hub.call(
        "POST",
        "/v1/me/contacts/verifications",
        token,
        {"kind": "email", "address": "Alice.New@Example.ORG"},
    )
    assert started.status_code == 202, started.text
    ident = started.json()["id"]
    assert started.json()["address"] == "Alice.New@example.org"
    code = _code(providers, "Alice.New@example.org")
    # Nothing of the citizen in the code's message either.
    (message,) = providers.box.list(to=["Alice.New@example.org"])
    assert alice["afm"] not in message["text"]
    assert alice["name"] not in message["text"]

    wrong = "000000" if code != "000000" else "111111"
    _problem(
        notifying_hub.call(
            "POST", f"/v1/me/contacts/verifications/{ident}", token, {"code": wrong}
        ),
        400,
        "invalid-contact",
    )
    confirmed = notifying_hub.call(
        "POST", f"/v1/me/contacts/verifications/{ident}", token, {"code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == {"address": "Alice.New@example.org", "source": "hub"}
    # A code works once.
    _problem(
        notifying_hub.call("POST", f"/v1/me/contacts/verifications/{ident}", token, {"code": code}),
        400,
        "invalid-contact",
    )
    # Another citizen cannot use Alice's verification, even with the right code.
    bob_token = notifying_hub.citizen_token(_citizen(citizens, 1))
    again = notifying_hub.call(
        "POST",
        "/v1/me/contacts/verifications",
        token,
        {"kind": "email", "address": "a2@example.org"},
    ).json()
    stolen_code = _code(providers, "a2@example.org")
    _problem(
        notifying_hub.call(
            "POST", f"/v1/me/contacts/verifications/{again['id']}", bob_token, {"code": stolen_code}
        ),
        400,
        "invalid-contact",
    )


def test_codes_run_out_after_a_few_wrong_attempts(
    notifying_hub: Hub, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    token = notifying_hub.citizen_token(_citizen(citizens, 2))
    started = notifying_hub.call(
        "POST", "/v1/me/contacts/verifications", token, {"kind": "mobile", "address": "6911111111"}
    ).json()
    code = _code(providers, "+306911111111")
    wrong = "000000" if code != "000000" else "111111"
    path = f"/v1/me/contacts/verifications/{started['id']}"
    for _ in range(notifying_hub.services.notifications.policy.code_attempts):
        _problem(notifying_hub.call("POST", path, token, {"code": wrong}), 400, "invalid-contact")
    _problem(notifying_hub.call("POST", path, token, {"code": code}), 400, "invalid-contact")


def test_invalid_addresses_are_refused_at_entry_and_nothing_is_sent(
    notifying_hub: Hub, providers: Providers, citizens: list[dict[str, Any]]
) -> None:
    token = notifying_hub.citizen_token(_citizen(citizens, 3))
    for kind, address in (
        ("email", "not-an-address"),
        ("email", "a@b"),
        ("mobile", "2101234567"),
        ("mobile", "+3069123"),
    ):
        response = notifying_hub.call(
            "POST", "/v1/me/contacts/verifications", token, {"kind": kind, "address": address}
        )
        _problem(response, 400, "invalid-contact")
    assert providers.box.count() == 0
    assert notifying_hub.call("GET", "/v1/me/contacts", token).json()["pending"] == []


def test_the_same_answer_whoever_holds_an_address(
    notifying_hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    alice, bob = _citizen(citizens, 4), _citizen(citizens, 5)
    body = {"kind": "email", "address": "shared@example.org"}
    first = notifying_hub.call(
        "POST", "/v1/me/contacts/verifications", notifying_hub.citizen_token(alice), body
    )
    second = notifying_hub.call(
        "POST", "/v1/me/contacts/verifications", notifying_hub.citizen_token(bob), body
    )
    assert first.status_code == second.status_code == 202
    assert set(first.json()) == set(second.json())


def test_preferences_round_trip_and_refuse_unknown_choices(
    notifying_hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    token = notifying_hub.citizen_token(_citizen(citizens, 6))
    shown = notifying_hub.call("GET", "/v1/me/notification-preferences", token)
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown.json()["preferences"]["certificate_checked"]["email"] == "off"
    changed = notifying_hub.call(
        "PUT",
        "/v1/me/notification-preferences",
        token,
        {
            "preferences": {
                "certificate_checked": {"email": "immediate"},
                "access": {"sms": "digest"},
            }
        },
    )
    assert changed.status_code == 200, changed.text
    prefs = changed.json()["preferences"]
    assert prefs["certificate_checked"]["email"] == "immediate"
    assert prefs["access"]["sms"] == "digest"
    bad = notifying_hub.call(
        "PUT",
        "/v1/me/notification-preferences",
        token,
        {"preferences": {"access": {"email": "sometimes"}}},
    )
    assert bad.status_code == 400
    assert (
        notifying_hub.call("GET", "/v1/me/notification-preferences", token).json()["preferences"]
        == prefs
    )


def test_receipts_must_be_signed(notifying_hub: Hub) -> None:
    receipt = {"id": "nope", "status": "delivered"}
    unsigned = requests.post(
        notifying_hub.url + "/v1/notifications/receipts",
        json=receipt,
        headers={"X-Hub-Signature": "t=1,v1=00"},
        timeout=10,
    )
    _problem(unsigned, 401, "unauthorized")
    forged = requests.post(
        notifying_hub.url + "/v1/notifications/receipts",
        json=receipt,
        headers={"X-Hub-Signature": sign_receipt("another-secret", receipt)},
        timeout=10,
    )
    _problem(forged, 401, "unauthorized")
    stale = requests.post(
        notifying_hub.url + "/v1/notifications/receipts",
        json=receipt,
        headers={
            "X-Hub-Signature": sign_receipt(
                notifying_hub.services.settings.notify_callback_secret,
                receipt,
                at=int(time.time()) - 3600,
            )
        },
        timeout=10,
    )
    _problem(stale, 401, "unauthorized")
    unknown = requests.post(
        notifying_hub.url + "/v1/notifications/receipts",
        json=receipt,
        headers={
            "X-Hub-Signature": sign_receipt(
                notifying_hub.services.settings.notify_callback_secret, receipt
            )
        },
        timeout=10,
    )
    _problem(unknown, 404, "not-found")
