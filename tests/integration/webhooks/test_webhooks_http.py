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
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
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
    hub.services.webhooks.policy = production
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


class _Misbehaving:
    """A raw TCP server: ``hang`` never answers; ``flood`` answers 200 and endless bytes."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.sent = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(65536)
                if self.mode == "hang":
                    self.stopped.wait(10)
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
                chunk = b"x" * 65536
                while not self.stopped.is_set():
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


def _register(hub: Hub, token: str, url: str) -> str:
    made = hub.call("POST", "/v1/agency/webhooks", token, {"url": url, "events": ["case.updated"]})
    assert made.status_code == 201, made.text
    endpoint_id: str = made.json()["id"]
    return endpoint_id


def _open_case(hub: Hub, token: str, reference: str, citizen: dict[str, Any]) -> None:
    body = {"citizen": {"afm": citizen["afm"]}, "title": "Αίτηση", "status": "received"}
    assert hub.call("PUT", f"/v1/cases/{reference}", token, body).status_code == 201


def test_a_hanging_or_flooding_receiver_cannot_hold_the_worker(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    hanging, flooding = _Misbehaving("hang"), _Misbehaving("flood")
    try:
        opeka = hub.agency("opeka")
        slow_id = _register(hub, opeka, hanging.url)
        big_id = _register(hub, opeka, flooding.url)
        _open_case(hub, opeka, "HOOK-3", citizens[2])
        started = time.monotonic()
        hub.deliver()
        # Two attempts under a 3-second deadline each; a generous liveness bound.
        assert time.monotonic() - started < 15
        (slow,) = hub.call("GET", f"/v1/agency/webhooks/{slow_id}/deliveries", opeka).json()[
            "items"
        ]
        assert slow["status"] == "pending"
        assert slow["attempts"][0]["error"] == "timeout"
        (big,) = hub.call("GET", f"/v1/agency/webhooks/{big_id}/deliveries", opeka).json()["items"]
        assert big["status"] == "delivered"
        # The hub stopped reading long before the receiver's gigabyte.
        assert flooding.sent < 50 * 1024 * 1024
    finally:
        hanging.close()
        flooding.close()


def test_a_name_rebound_to_an_internal_address_is_refused_at_delivery(
    hub: Hub, receiver: Receiver, citizens: list[dict[str, Any]]
) -> None:
    opeka = hub.agency("opeka")
    endpoint_id = _register(hub, opeka, receiver.url)
    _open_case(hub, opeka, "HOOK-4", citizens[3])
    # Between registration and delivery the rules became production's and the
    # name now resolves to loopback: the worker checks again and sends nothing.
    production = dataclasses.replace(hub.services.settings, env="production")
    worker = hub.services.webhook_worker
    worker.policy = UrlPolicy.for_settings(production)
    hub.deliver()
    assert receiver.received == []
    (refused,) = hub.call("GET", f"/v1/agency/webhooks/{endpoint_id}/deliveries", opeka).json()[
        "items"
    ]
    assert refused["attempts"][0]["error"] == "refused-address"


def test_two_nodes_deliver_each_message_once(
    hub: Hub, receiver: Receiver, citizens: list[dict[str, Any]]
) -> None:
    from hub.persistence.db import Database  # noqa: PLC0415
    from hub.persistence.webhooks import SqlWebhookStore  # noqa: PLC0415
    from hub.webhooks.worker import WebhookWorker  # noqa: PLC0415

    opeka = hub.agency("opeka")
    _register(hub, opeka, receiver.url)
    for number in range(12):
        _open_case(hub, opeka, f"HOOK-N{number}", citizens[number % 20])
    nodes = []
    for _ in range(2):
        # Each "node" has its own engine and pool, as two processes would.
        db = Database(hub.services.settings.database_url)
        main = hub.services.webhook_worker
        nodes.append(
            (
                db,
                WebhookWorker(
                    queue=SqlWebhookStore(db),
                    policy=main.policy,
                    sender=main.sender,
                    max_attempts=3,
                    backoff=30.0,
                    poll_seconds=0.05,
                ),
            )
        )
    try:
        barrier = threading.Barrier(2)

        def run(worker: WebhookWorker) -> None:
            barrier.wait()
            for _ in range(5):
                worker.run_once()

        threads = [threading.Thread(target=run, args=(w,)) for _, w in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for db, _ in nodes:
            db.dispose()
    ids = [_headers(r)["webhook-id"] for r in receiver.received]
    assert len(ids) == 12
    assert len(set(ids)) == 12


def test_an_undecided_request_that_expires_is_announced_once(
    hub: Hub, receiver: Receiver, citizens: list[dict[str, Any]]
) -> None:
    from sqlalchemy import update  # noqa: PLC0415

    from hub.persistence.consent_models import ConsentRequestRow  # noqa: PLC0415

    bank = hub.agency("bank-demo")
    made = hub.call(
        "POST", "/v1/agency/webhooks", bank, {"url": receiver.url, "events": ["consent.expired"]}
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
    assert opened.status_code == 201
    hub.deliver()
    assert receiver.received == []
    with hub.services.db.session() as session:
        session.execute(
            update(ConsentRequestRow)
            .where(ConsentRequestRow.id == opened.json()["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    hub.deliver(rounds=3)
    (got,) = receiver.received
    payload = json.loads(got["body"])
    assert payload["type"] == "consent.expired"
    assert payload["data"]["request_id"] == opened.json()["id"]
