"""Reaching for someone else's consent or certificate is answered 404 and logged.

An authenticated caller who names another citizen's consent request,
consent or certificate, or another agency's consent request, gets the same
404 as for an id that does not exist (so ids cannot be probed), but the
attempt is an access attempt on that citizen's data: it is recorded in the
access log as a denial naming the caller, under the citizen whose object it
was, and that citizen sees it in their history. An id that does not exist
leaves no entry. The evidence endpoint already logged its refusals; the
case of another citizen's consent id is replayed here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hub.config import Settings
from hub.errors import PROBLEM_BASE
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.clients import agency_token, post_evidence
from tests.common.server import serve_hub


class Hub:
    def __init__(self, url: str, services: Any, settings: Settings) -> None:
        self.url = url
        self.services = services
        self.settings = settings

    def citizen(self, person: dict[str, Any]) -> dict[str, str]:
        issued = self.services.tokens.issue_citizen(person["afm"], person["amka"], person["name"])
        return {"Authorization": f"Bearer {issued.access_token}"}

    def call(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> requests.Response:
        return requests.request(method, self.url + path, headers=headers, json=body, timeout=30)

    def log(self) -> list[dict[str, Any]]:
        db = Database(self.settings.database_url)
        try:
            with db.session() as session:
                rows = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx)).all()
                return [json.loads(row.entry) for row in rows]
        finally:
            db.dispose()


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    with serve_hub(settings) as (url, services, served):
        yield Hub(url, services, served)


def _people(citizens: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    owners = [c for c in citizens if c.get("owns_property") and not c.get("deceased")]
    return owners[0], owners[1]


def _not_found(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 404, response.text
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + "not-found"
    return problem


def _consent_request(hub: Hub, bank: str, person: dict[str, Any]) -> str:
    opened = hub.call(
        "POST",
        "/v1/consent-requests",
        {"Authorization": f"Bearer {bank}"},
        {
            "citizen": {"afm": person["afm"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
        },
    )
    assert opened.status_code == 201, opened.text
    request_id: str = opened.json()["id"]
    return request_id


def _assert_denial(
    entry: dict[str, Any], *, action: str, actor: tuple[str, str], subject: str
) -> None:
    assert entry["action"] == action, entry
    assert entry["outcome"] == "denied"
    assert entry["reason"] == "not-owner"
    assert (entry["actor"]["kind"], entry["actor"]["id"]) == actor
    assert entry["subject"] == subject


def test_another_citizens_consent_request_and_consent(
    hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    alice, bob = _people(citizens)
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    as_alice, as_bob = hub.citizen(alice), hub.citizen(bob)
    pending = _consent_request(hub, bank, alice)
    bob_actor = ("citizen", f"afm:{bob['afm']}")
    alice_subject = f"afm:{alice['afm']}"

    # Bob reaches for Alice's pending request three ways.
    for method, path, body, action in (
        ("GET", f"/v1/me/consent-requests/{pending}", None, "consent.view"),
        ("GET", f"/v1/me/consent-requests/{pending}/preview", None, "consent.preview"),
        (
            "POST",
            f"/v1/me/consent-requests/{pending}/decision",
            {"decision": "approve"},
            "consent.decide",
        ),
    ):
        _not_found(hub.call(method, path, as_bob, body))
        _assert_denial(hub.log()[-1], action=action, actor=bob_actor, subject=alice_subject)

    # Alice approves; Bob reaches for her consent.
    decided = hub.call(
        "POST", f"/v1/me/consent-requests/{pending}/decision", as_alice, {"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text
    consent_id = decided.json()["consent"]["id"]
    for method, path, action in (
        ("GET", f"/v1/me/consents/{consent_id}/receipt", "consent.receipt"),
        ("DELETE", f"/v1/me/consents/{consent_id}", "consent.revoke"),
    ):
        _not_found(hub.call(method, path, as_bob))
        entry = hub.log()[-1]
        _assert_denial(entry, action=action, actor=bob_actor, subject=alice_subject)
        assert entry["consent_id"] == consent_id
    consent = hub.call("GET", "/v1/me/consents", as_alice).json()["items"][0]
    assert consent["status"] == "active"

    # Another agency asks about the bank's request.
    opeka = agency_token(hub.url, keys_dir, "opeka")
    _not_found(
        hub.call("GET", f"/v1/consent-requests/{pending}", {"Authorization": f"Bearer {opeka}"})
    )
    _assert_denial(
        hub.log()[-1], action="consent.status", actor=("agency", "opeka"), subject=alice_subject
    )

    # An id that does not exist answers the same and leaves nothing.
    before = len(hub.log())
    unknown = "0" * 32
    _not_found(hub.call("GET", f"/v1/me/consent-requests/{unknown}", as_bob))
    _not_found(hub.call("DELETE", f"/v1/me/consents/{unknown}", as_bob))
    _not_found(
        hub.call("GET", f"/v1/consent-requests/{unknown}", {"Authorization": f"Bearer {opeka}"})
    )
    assert len(hub.log()) == before

    # Alice sees every attempt in her history; Bob's own history has none of them.
    mine = hub.call("GET", "/v1/me/access-log", as_alice).json()["items"]
    # Another citizen stays anonymous to her (the auditor sees who in the log).
    denied = {(i["action"], i["actor"]["id"]) for i in mine if i["reason"] == "not-owner"}
    assert denied == {
        ("consent.view", None),
        ("consent.preview", None),
        ("consent.decide", None),
        ("consent.receipt", None),
        ("consent.revoke", None),
        ("consent.status", "opeka"),
    }
    assert bob["afm"] not in json.dumps(mine)
    theirs = hub.call("GET", "/v1/me/access-log", as_bob).json()["items"]
    assert not [i for i in theirs if i["reason"] == "not-owner"]


def test_another_citizens_consent_id_in_an_evidence_request(
    hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    alice, bob = _people(citizens)
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    pending = _consent_request(hub, bank, alice)
    decided = hub.call(
        "POST",
        f"/v1/me/consent-requests/{pending}/decision",
        hub.citizen(alice),
        {"decision": "approve"},
    )
    consent_id = decided.json()["consent"]["id"]
    response = post_evidence(
        hub.url,
        bank,
        {
            "citizen": {"afm": bob["afm"]},
            "evidence_type": "property-ownership",
            "purpose": "mortgage-application",
            "consent_id": consent_id,
        },
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"] == PROBLEM_BASE + "consent-required"
    entry = hub.log()[-1]
    assert entry["action"] == "evidence.request"
    assert entry["outcome"] == "denied"
    assert entry["actor"]["id"] == "bank-demo"
    assert entry["subject"] == f"afm:{bob['afm']}"
    assert entry["consent_id"] == consent_id
    assert entry["reason"] == "consent-required"


def test_another_citizens_certificate(
    hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    alice, bob = _people(citizens)
    as_alice, as_bob = hub.citizen(alice), hub.citizen(bob)
    issued = hub.call("POST", "/v1/me/certificates", as_alice, {"type": "property-ownership"})
    assert issued.status_code == 201, issued.text
    code = issued.headers["X-Verification-Code"]
    bob_actor = ("citizen", f"afm:{bob['afm']}")
    for method, path, body, action in (
        ("GET", f"/v1/me/certificates/{code}/pdf", None, "certificate.download"),
        (
            "POST",
            f"/v1/certificates/{code}/revocation",
            {"reason": "not mine"},
            "certificate.revoke",
        ),
    ):
        _not_found(hub.call(method, path, as_bob, body))
        entry = hub.log()[-1]
        _assert_denial(entry, action=action, actor=bob_actor, subject=f"afm:{alice['afm']}")
        assert entry["evidence_type"] == "property-ownership"
    listed = hub.call("GET", "/v1/me/certificates", as_alice).json()["items"]
    assert listed[0]["status"] == "valid"
    before = len(hub.log())
    _not_found(hub.call("GET", "/v1/me/certificates/AAAA-AAAA-AAAA-AAAA/pdf", as_bob))
    assert len(hub.log()) == before
