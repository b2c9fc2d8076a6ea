"""Agency webhooks over real HTTP: a real receiver on 127.0.0.1, a real database.

Registration returns the secret once; a case change and a consent decision
become deliveries in their own transaction; the worker sends them signed
(checked by the ``standardwebhooks`` package and by a clean-room check
written from the specification); a receiver that fails then succeeds is
retried; one that never answers 2xx ends dead-lettered; production refuses
http and private addresses.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from hub.config import Settings
from hub.errors import PROBLEM_BASE, WebhookUrlRefused
from hub.webhooks.policy import UrlPolicy
from tests.common.clients import agency_token


class Receiver:
    """An HTTP server that records what it receives and answers with scripted statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Hub:
    def __init__(self, url: str, services: Any, keys_dir: Any) -> None:
        self.url = url
        self.services = services
        self.keys_dir = keys_dir

    def agency(self, agency_id: str) -> str:
        return agency_token(self.url, self.keys_dir, agency_id)

    def call(self, method: str, path: str, token: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def deliver(self, rounds: int = 1) -> None:
        """Run the worker as the serving node would, with due times brought forward."""
        worker = self.services.webhook_worker
        for _ in range(rounds):
            _make_all_due(self.services)
            worker.run_once()


def _make_all_due(services: Any) -> None:
    from sqlalchemy import update  # noqa: PLC0415

    from hub.persistence.webhook_models import WebhookDeliveryRow  # noqa: PLC0415

    with services.db.session() as session:
        session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.status == "pending")
            .values(next_attempt_at=WebhookDeliveryRow.created_at)
        )


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415
    from tests.common.server import free_port, serve  # noqa: PLC0415

    port = free_port()
    settings = replace(
        settings,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        webhook_max_attempts=3,
        webhook_timeout=3.0,
    )
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield Hub(url, services, settings.keys_dir)
    services.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([])
    yield found
    found.close()


def _clean_room_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The check the Standard Webhooks specification describes, written from its text."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [
        s.partition(",")[2] for s in headers["webhook-signature"].split(" ") if s.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, g) for g in given)


def _headers(received: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in received["headers"].items()}


def test_a_case_event_arrives_signed(
    hub: Hub, receiver: Receiver, citizens: list[dict[str, Any]]
) -> None:
    from standardwebhooks.webhooks import Webhook  # noqa: PLC0415

    opeka = hub.agency("opeka")
    made = hub.call(
        "POST", "/v1/agency/webhooks", opeka, {"url": receiver.url, "events": ["case.updated"]}
    )
    assert made.status_code == 201, made.text
    assert made.headers["Cache-Control"] == "no-store"
    secret = made.json()["secret"]
    assert secret.startswith("whsec_")
    listed = hub.call("GET", "/v1/agency/webhooks", opeka).json()["items"]
    assert [e["id"] for e in listed] == [made.json()["id"]]
    assert "secret" not in listed[0]

    person = citizens[0]
    case = hub.call(
        "PUT",
        "/v1/cases/HOOK-1",
        opeka,
        {"citizen": {"afm": person["afm"]}, "title": "Αίτηση", "status": "in-review"},
    )
    assert case.status_code == 201, case.text
    hub.deliver()

    (got,) = receiver.received
    headers = _headers(got)
    assert _clean_room_verify(secret, headers, got["body"])
    payload = Webhook(secret).verify(got["body"], headers)
    assert payload["type"] == "case.updated"
    assert payload["data"]["case_reference"] == "HOOK-1"
    assert payload["data"]["status"] == "in-review"
    # The event carries no citizen identifier.
    assert person["afm"] not in got["body"].decode()
    # A forged body does not verify.
    assert not _clean_room_verify(secret, headers, got["body"] + b" ")

    log = hub.call("GET", f"/v1/agency/webhooks/{made.json()['id']}/deliveries", opeka).json()
    (delivery,) = log["items"]
    assert delivery["status"] == "delivered"
    assert delivery["id"] == headers["webhook-id"]
    assert [a["status_code"] for a in delivery["attempts"]] == [200]

    # Another agency cannot read or remove it.
    athens = hub.agency("municipality-athens")
    other = hub.call("GET", f"/v1/agency/webhooks/{made.json()['id']}/deliveries", athens)
    assert other.status_code == 404
    assert hub.call("DELETE", f"/v1/agency/webhooks/{made.json()['id']}", athens).status_code == 404
    assert hub.call("DELETE", f"/v1/agency/webhooks/{made.json()['id']}", opeka).status_code == 204
    assert hub.call("GET", "/v1/agency/webhooks", opeka).json()["items"] == []


def test_a_failing_receiver_is_retried_then_a_dead_one_dead_lettered(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    flaky = Receiver([500, 503])
    dead = Receiver([500, 500, 500, 500])
    try:
        opeka = hub.agency("opeka")
        ids = []
        for receiver in (flaky, dead):
            made = hub.call(
                "POST",
                "/v1/agency/webhooks",
                opeka,
                {"url": receiver.url, "events": ["case.updated"]},
            )
            assert made.status_code == 201
            ids.append(made.json()["id"])
        body = {"citizen": {"afm": citizens[1]["afm"]}, "title": "Αίτηση", "status": "received"}
        assert hub.call("PUT", "/v1/cases/HOOK-2", opeka, body).status_code == 201
        hub.deliver(rounds=4)

        assert len(flaky.received) == 3
        assert len({_headers(r)["webhook-id"] for r in flaky.received}) == 1
        (retried,) = hub.call("GET", f"/v1/agency/webhooks/{ids[0]}/deliveries", opeka).json()[
            "items"
        ]
        assert retried["status"] == "delivered"
        assert [a["status_code"] for a in retried["attempts"]] == [500, 503, 200]
        assert [a["error"] for a in retried["attempts"]] == ["http-500", "http-503", None]

        assert len(dead.received) == 3  # webhook_max_attempts
        (lost,) = hub.call("GET", f"/v1/agency/webhooks/{ids[1]}/deliveries", opeka).json()["items"]
        assert lost["status"] == "dead"
        assert lost["next_attempt_at"] is None
        assert len(lost["attempts"]) == 3
    finally:
        flaky.close()
        dead.close()


def test_a_consent_decision_reaches_the_agency(
    hub: Hub, receiver: Receiver, citizens: list[dict[str, Any]]
) -> None:
    bank = hub.agency("bank-demo")
    made = hub.call(
        "POST",
        "/v1/agency/webhooks",
        bank,
        {"url": receiver.url, "events": ["consent.approved", "consent.revoked"]},
    )
    assert made.status_code == 201
    person = next(c for c in citizens if c.get("owns_property") and not c.get("deceased"))
    opened = hub.call(
        "POST",
        "/v1/consent-requests",
        bank,
        {
            "citizen": {"afm": person["afm"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
        },
    )
    assert opened.status_code == 201, opened.text
    citizen = hub.services.tokens.issue_citizen(
        person["afm"], person["amka"], person["name"]
    ).access_token
    decided = hub.call(
        "POST",
        f"/v1/me/consent-requests/{opened.json()['id']}/decision",
        citizen,
        {"decision": "approve"},
    )
    assert decided.status_code == 200, decided.text
    consent_id = decided.json()["consent"]["id"]
    assert hub.call("DELETE", f"/v1/me/consents/{consent_id}", citizen).status_code == 200
    hub.deliver()
    kinds = [json.loads(r["body"])["type"] for r in receiver.received]
    assert sorted(kinds) == ["consent.approved", "consent.revoked"]
    data = [json.loads(r["body"])["data"] for r in receiver.received]
    assert {d["request_id"] for d in data} == {opened.json()["id"]}


def test_production_refuses_http_and_private_addresses(settings: Settings) -> None:
    production = dataclasses.replace(settings, env="production")
    policy = UrlPolicy.for_settings(production)
    for url in (
        "http://example.org/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://user:pw@example.org/hook",
    ):
        with pytest.raises(WebhookUrlRefused):
            policy.check(url)
    # A name that resolves to a private address, as a rebinding DNS answers later.
    rebinding = UrlPolicy.for_settings(
        production, resolver=lambda host, port: ["93.184.215.14", "10.0.0.5"]
    )
    with pytest.raises(WebhookUrlRefused):
        rebinding.check("https://hooks.example.org/x")
    allowed = dataclasses.replace(production, webhook_private_networks=("10.0.0.0/8",))
    UrlPolicy.for_settings(allowed, resolver=lambda host, port: ["10.0.0.5"]).check(
        "https://agency.internal/x"
    )
    listed = dataclasses.replace(production, webhook_allowed_hosts=("*.gov.gr",))
    with pytest.raises(WebhookUrlRefused):
        UrlPolicy.for_settings(listed, resolver=lambda h, p: ["93.184.215.14"]).check(
            "https://evil.example/x"
        )


def test_registration_of_a_private_url_in_production_is_a_problem(hub: Hub) -> None:
    production = UrlPolicy.for_settings(
        dataclasses.replace(hub.services.settings, env="production")
    )
    object.__setattr__(hub.services.webhooks, "policy", production)
    opeka = hub.agency("opeka")
    refused = hub.call(
        "POST",
        "/v1/agency/webhooks",
        opeka,
        {"url": "https://127.0.0.1:9/hook", "events": ["case.updated"]},
    )
    assert refused.status_code == 400
    assert refused.json()["type"] == PROBLEM_BASE + "webhook-url-refused"
    assert hub.call("GET", "/v1/agency/webhooks", opeka).json()["items"] == []
