"""The bank flow over real HTTP, against the real sandbox registries and database.

403 consent-required → consent request → citizen preview → approve →
evidence 200 → receipt verifies → revoke → 403; the citizen's access log
shows every step, denials included, and another citizen sees none of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.config import Settings
from hub.domain.sealing.jws import verify_jws
from hub.errors import PROBLEM_BASE
from tests.common.clients import agency_token, post_evidence

PURPOSE = "mortgage-application"
PROPERTY_FIELDS = {"property_count", "properties"}


class Hub:
    def __init__(self, url: str, services: Any) -> None:
        self.url = url
        self.services = services

    def citizen_token(self, citizen: dict[str, Any]) -> str:
        issued = self.services.tokens.issue_citizen(
            citizen["afm"], citizen["amka"], citizen["name"]
        )
        token: str = issued.access_token
        return token

    def get(self, path: str, token: str | None, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, params=params, timeout=30)

    def post(self, path: str, token: str | None, body: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url + path, json=body, headers=headers, timeout=30)

    def delete(self, path: str, token: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.delete(self.url + path, headers=headers, timeout=30)


@pytest.fixture
def hub(settings: Settings, tmp_path: Path) -> Iterator[Hub]:
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415
    from tests.common.server import free_port, serve  # noqa: PLC0415

    port = free_port()
    settings = replace(
        settings,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield Hub(url, services)
    services.close()


def _pick(citizens: list[dict[str, Any]], *tags: str, skip: int = 0) -> dict[str, Any]:
    found = [c for c in citizens if all(c.get(t) for t in tags) and not c.get("deceased")]
    return found[skip]


def _problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + slug, problem
    return problem


def _evidence(hub: Hub, token: str, citizen: dict[str, Any]) -> requests.Response:
    return post_evidence(
        hub.url,
        token,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "property-ownership",
            "purpose": PURPOSE,
            "official": "loan-officer-12",
            "case_reference": "MTG-2026-001",
        },
    )


def test_the_bank_flow_end_to_end(hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]) -> None:
    alice = _pick(citizens, "owns_property")
    bob = _pick(citizens, "owns_property", skip=1)
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    alice_token, bob_token = hub.citizen_token(alice), hub.citizen_token(bob)

    # 1. Without consent the bank is refused, and told where to ask.
    problem = _problem(_evidence(hub, bank, alice), 403, "consent-required")
    assert problem["consent_request_endpoint"] == "/v1/consent-requests"

    # 2. The bank asks.
    opened = hub.post(
        "/v1/consent-requests",
        bank,
        {
            "citizen": {"afm": alice["afm"]},
            "purpose": PURPOSE,
            "evidence_types": ["property-ownership"],
            "official": "loan-officer-12",
        },
    )
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert request["status"] == "pending"
    assert opened.headers["Location"] == f"/v1/consent-requests/{request['id']}"
    assert request["evidence_types"] == [
        {"id": "property-ownership", "fields": ["property_count", "properties"]}
    ]
    status = hub.get(f"/v1/consent-requests/{request['id']}", bank).json()
    assert status["status"] == "pending"

    # 3. The citizen sees it and previews exactly what would leave.
    mine = hub.get("/v1/me/consent-requests", alice_token).json()["items"]
    assert [r["id"] for r in mine] == [request["id"]]
    assert mine[0]["agency"]["name"].startswith("Demo Bank")
    preview = hub.get(f"/v1/me/consent-requests/{request['id']}/preview", alice_token)
    assert preview.status_code == 200, preview.text
    assert preview.headers["Cache-Control"] == "no-store"
    (item,) = preview.json()["items"]
    assert set(item["evidence"]) <= PROPERTY_FIELDS
    assert item["evidence"]["property_count"] >= 1

    # 4. Approve.
    decided = hub.post(
        f"/v1/me/consent-requests/{request['id']}/decision", alice_token, {"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text
    consent = decided.json()["consent"]
    assert consent["status"] == "active"
    assert decided.json()["request"]["status"] == "approved"
    status = hub.get(f"/v1/consent-requests/{request['id']}", bank).json()
    assert status["status"] == "approved"
    assert status["consent"]["id"] == status["consent_id"] == consent["id"]

    # 5. The evidence now flows: exactly what the citizen previewed.
    granted = _evidence(hub, bank, alice)
    assert granted.status_code == 200, granted.text
    assert granted.json()["evidence"] == item["evidence"]
    assert granted.json()["consent_id"] == consent["id"]

    # 6. The receipt verifies against the hub's published keys.
    receipt = hub.get(f"/v1/me/consents/{consent['id']}/receipt", alice_token)
    assert receipt.status_code == 200, receipt.text
    body = receipt.json()
    report = verify_jws(body["jws"], hub.services.keystore.trust())
    assert report.valid, report.reasons
    assert report.payload == body["receipt"]
    assert body["receipt"]["piiControllers"][0]["controllerId"] == "bank-demo"
    assert report.kid in {k["kid"] for k in hub.services.keystore.jwks()["keys"]}

    # 7. Revoke: the very next request is refused.
    revoked = hub.delete(f"/v1/me/consents/{consent['id']}", alice_token)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    _problem(_evidence(hub, bank, alice), 403, "consent-required")
    assert hub.get("/v1/me/consents", alice_token).json()["items"][0]["status"] == "revoked"

    # 8. The citizen's log shows every step, newest first, denials included.
    page = hub.get("/v1/me/access-log", alice_token)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    steps = [(i["action"], i["outcome"]) for i in items]
    assert steps == [
        ("evidence.request", "denied"),
        ("consent.revoke", "granted"),
        ("evidence.request", "granted"),
        ("consent.grant", "granted"),
        ("consent.preview", "granted"),
        ("consent.request", "granted"),
        ("evidence.request", "denied"),
    ]
    release = items[2]
    assert release["actor"] == {
        "kind": "agency",
        "id": "bank-demo",
        "name": release["actor"]["name"],
        "official": "loan-officer-12",
    }
    assert release["actor"]["name"].startswith("Demo Bank")
    assert release["legal_basis"] == "consent"
    assert release["consent_id"] == consent["id"]
    assert set(release["fields"]) == set(item["evidence"])
    assert items[0]["reason"] == items[-1]["reason"] == "consent-required"
    first = hub.get("/v1/me/access-log", alice_token, limit=3).json()
    assert [i["index"] for i in first["items"]] == [i["index"] for i in items[:3]]
    rest = hub.get("/v1/me/access-log", alice_token, cursor=first["next"]).json()
    assert [i["index"] for i in rest["items"]] == [i["index"] for i in items[3:]]

    # 9. Another citizen sees none of it, and cannot touch it.
    assert hub.get("/v1/me/consent-requests", bob_token).json()["items"] == []
    assert hub.get("/v1/me/consents", bob_token).json()["items"] == []
    assert hub.get("/v1/me/access-log", bob_token).json() == {"items": [], "next": None}
    for response in (
        hub.get(f"/v1/me/consent-requests/{request['id']}", bob_token),
        hub.get(f"/v1/me/consent-requests/{request['id']}/preview", bob_token),
        hub.post(
            f"/v1/me/consent-requests/{request['id']}/decision", bob_token, {"decision": "refuse"}
        ),
        hub.get(f"/v1/me/consents/{consent['id']}/receipt", bob_token),
        hub.delete(f"/v1/me/consents/{consent['id']}", bob_token),
    ):
        _problem(response, 404, "not-found")


def test_legal_basis_purposes_take_no_consent(hub: Hub, keys_dir: Path) -> None:
    opeka = agency_token(hub.url, keys_dir, "opeka")
    response = hub.post(
        "/v1/consent-requests",
        opeka,
        {
            "citizen": {"afm": "090000045"},
            "purpose": "social-benefit-eligibility",
            "evidence_types": ["family-status"],
        },
    )
    _problem(response, 403, "purpose-not-allowed")


def test_tokens_are_checked_per_side(
    hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    citizen = hub.citizen_token(_pick(citizens, "owns_property"))
    _problem(hub.get("/v1/me/consents", None), 401, "unauthorized")
    _problem(hub.get("/v1/me/consents", bank), 401, "invalid-token")
    body = {"citizen": {"afm": "090000045"}, "purpose": PURPOSE, "evidence_types": ["x"]}
    _problem(hub.post("/v1/consent-requests", citizen, body), 401, "invalid-token")
    _problem(hub.get("/v1/consent-requests/" + "0" * 32, bank), 404, "not-found")


def test_bad_input_is_a_clear_problem(
    hub: Hub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    bank = agency_token(hub.url, keys_dir, "bank-demo")
    alice = _pick(citizens, "owns_property")
    token = hub.citizen_token(alice)
    bad_afm = {"citizen": {"afm": "123"}, "purpose": PURPOSE, "evidence_types": ["x"]}
    _problem(hub.post("/v1/consent-requests", bank, bad_afm), 400, "invalid-identifier")
    opened = hub.post(
        "/v1/consent-requests",
        bank,
        {
            "citizen": {"afm": alice["afm"]},
            "purpose": PURPOSE,
            "evidence_types": ["property-ownership"],
        },
    ).json()
    path = f"/v1/me/consent-requests/{opened['id']}/decision"
    _problem(hub.post(path, token, {"decision": "maybe"}), 400, "validation-failed")
    too_long = {"decision": "approve", "valid_until": "2999-01-01T00:00:00Z"}
    _problem(hub.post(path, token, too_long), 400, "validation-failed")
    _problem(hub.get("/v1/me/access-log", token, cursor="!!"), 400, "validation-failed")
    once = hub.post(path, token, {"decision": "approve", "once": True})
    assert once.json()["consent"]["once"] is True
    _problem(hub.post(path, token, {"decision": "refuse"}), 409, "conflict")
