"""Case status over real HTTP, with the sandbox registries and a real database.

An agency opens and changes a case; the citizen reads its timeline (status
changes and the evidence requests made under the same reference) on the API
and on ``/me/cases``; each change is in the access log with the agency as
actor and in the notifications' outbox; another agency gets 404 and a logged
denial; bad input is a problem and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select

from hub.config import Settings
from hub.errors import PROBLEM_BASE
from hub.persistence.models import AuditEntryRow
from hub.persistence.notification_models import OutboxRow
from hub.web.signin import demo_citizens
from tests.common.browser import Browser
from tests.common.clients import agency_token, post_evidence


class Hub:
    def __init__(self, url: str, services: Any, keys_dir: Any) -> None:
        self.url = url
        self.services = services
        self.keys_dir = keys_dir

    def agency(self, agency_id: str) -> str:
        return agency_token(self.url, self.keys_dir, agency_id)

    def citizen(self, citizen: dict[str, Any]) -> str:
        issued = self.services.tokens.issue_citizen(
            citizen["afm"], citizen["amka"], citizen["name"]
        )
        token: str = issued.access_token
        return token

    def put_case(self, token: str, reference: str, body: dict[str, Any]) -> requests.Response:
        return requests.put(
            f"{self.url}/v1/cases/{quote(reference, safe='')}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def get(self, path: str, token: str) -> requests.Response:
        return requests.get(
            self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def log(self, action: str) -> list[dict[str, Any]]:
        with self.services.db.session() as session:
            rows = session.scalars(
                select(AuditEntryRow.entry)
                .where(AuditEntryRow.action == action)
                .order_by(AuditEntryRow.idx)
            )
            return [json.loads(r) for r in rows]

    def outbox(self, kind: str) -> list[dict[str, Any]]:
        with self.services.db.session() as session:
            rows = session.scalars(select(OutboxRow).where(OutboxRow.kind == kind))
            return [{"subject": r.subject, **json.loads(r.data)} for r in rows]


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415
    from tests.common.server import free_port, serve  # noqa: PLC0415

    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield Hub(url, services, settings.keys_dir)
    services.close()


def _citizen(citizens: list[dict[str, Any]], skip: int = 0) -> dict[str, Any]:
    alive = [c for c in citizens if not c.get("deceased") and not c.get("minor")]
    return alive[skip]


def _problem(response: requests.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == PROBLEM_BASE + slug


def _future(days: int = 14) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def test_a_case_timeline_reaches_the_citizen(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    # One of the development sign-in's citizens, so that the page can be read too.
    person = demo_citizens(hub.services.settings)[0]
    opeka = hub.agency("opeka")
    reference = "ΟΠΕΚΑ-2026-0042"
    evidence = post_evidence(
        hub.url,
        opeka,
        {
            "citizen": {"afm": person["afm"]},
            "evidence_type": "family-status",
            "purpose": "social-benefit-eligibility",
            "case_reference": reference,
        },
    )
    assert evidence.status_code == 200, evidence.text
    # An access under a purpose still hidden from the citizen stays out of the timeline.
    hidden = post_evidence(
        hub.url,
        opeka,
        {
            "citizen": {"afm": person["afm"]},
            "evidence_type": "insurance-status",
            "purpose": "benefit-fraud-investigation",
            "case_reference": reference,
        },
    )
    assert hidden.status_code == 200, hidden.text

    opened = hub.put_case(
        opeka,
        reference,
        {"citizen": {"afm": person["afm"]}, "title": "Επίδομα παιδιού", "status": "received"},
    )
    assert opened.status_code == 201, opened.text
    assert opened.headers["Cache-Control"] == "no-store"
    missing = hub.put_case(
        opeka,
        reference,
        {
            "citizen": {"afm": person["afm"]},
            "title": "Επίδομα παιδιού",
            "status": "missing-document",
            "document": "birth-certificate",
            "deadline": _future(),
            "note": "Χρειαζόμαστε τη ληξιαρχική πράξη γέννησης του παιδιού.",
        },
    )
    assert missing.status_code == 200, missing.text
    assert [c["status"] for c in missing.json()["changes"]] == ["received", "missing-document"]
    # The same PUT again changes nothing and tells no one twice.
    again = hub.put_case(
        opeka,
        reference,
        {
            "citizen": {"afm": person["afm"]},
            "title": "Επίδομα παιδιού",
            "status": "missing-document",
            "document": "birth-certificate",
            "deadline": _future(),
            "note": "Χρειαζόμαστε τη ληξιαρχική πράξη γέννησης του παιδιού.",
        },
    )
    assert again.status_code == 200
    assert again.json()["version"] == 2

    mine = hub.get("/v1/me/cases", hub.citizen(person))
    assert mine.status_code == 200, mine.text
    assert mine.headers["Cache-Control"] == "no-store"
    (case,) = mine.json()["items"]
    assert case["case_reference"] == reference
    assert case["agency"]["id"] == "opeka"
    kinds = [(t["kind"], t.get("status") or t.get("evidence_type")) for t in case["timeline"]]
    assert kinds == [
        ("evidence", "family-status"),
        ("status", "received"),
        ("status", "missing-document"),
    ]
    offer = case["offer"]
    assert offer["evidence_type"] == "birth-certificate"
    assert offer["certificate"] is True
    assert offer["certificate_url"] == "/me/certificates?type=birth-certificate"

    # Each change is in the access log, with the agency as actor, and in the outbox.
    updates = hub.log("case.update")
    assert len(updates) == 2
    assert {u["actor"]["id"] for u in updates} == {"opeka"}
    assert {u["case_reference"] for u in updates} == {reference}
    notices = hub.outbox("case_status")
    assert [n["status"] for n in notices] == ["received", "missing-document"]
    assert all(n["subject"] == f"afm:{person['afm']}" for n in notices)
    assert all(person["afm"] not in json.dumps({**n, "subject": ""}) for n in notices)

    # Another citizen sees none of it.
    other = hub.get("/v1/me/cases", hub.citizen(_citizen(citizens, 1)))
    assert other.json()["items"] == []

    # The page: Greek by default, English on request, no script.
    page = _page(hub, person, "/me/cases")
    assert "ΟΠΕΚΑ-2026-0042" in page
    assert "Λείπει δικαιολογητικό" in page
    assert "/me/certificates?type=birth-certificate" in page
    assert "<script" not in page
    english = _page(hub, person, "/me/cases?lang=en")
    assert "A document is missing" in english
    # The offer leads to issuing that certificate, its type already chosen.
    issue = _page(hub, person, offer["certificate_url"])
    assert 'value="birth-certificate" selected' in issue


def _page(hub: Hub, person: dict[str, Any], path: str) -> str:
    browser = Browser(hub.url)
    browser.sign_in_citizen(person["afm"])
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return page.text


def test_another_agency_gets_404_and_a_logged_denial(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    person = _citizen(citizens, 2)
    opeka = hub.agency("opeka")
    athens = hub.agency("municipality-athens")
    body = {"citizen": {"afm": person["afm"]}, "title": "Αίτηση", "status": "in-review"}
    assert hub.put_case(opeka, "CASE-7", body).status_code == 201

    refused = hub.get("/v1/cases/CASE-7", athens)
    _problem(refused, 404, "not-found")
    (denial,) = hub.log("case.view")
    assert denial["outcome"] == "denied"
    assert denial["reason"] == "not-owner"
    assert denial["actor"]["id"] == "municipality-athens"
    assert denial["subject"] == f"afm:{person['afm']}"

    # The other agency's PUT of the same reference opens its own case; OPEKA's stays.
    theirs = hub.put_case(athens, "CASE-7", {**body, "status": "closed"})
    assert theirs.status_code == 201
    own = hub.get("/v1/cases/CASE-7", opeka)
    assert own.status_code == 200
    assert own.json()["status"] == "in-review"
    assert len(own.json()["changes"]) == 1


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"title": "x", "status": "lost"}, "validation-failed"),
        ({"title": "x", "status": "missing-document"}, "validation-failed"),
        (
            {"title": "x", "status": "received", "document": "birth-certificate"},
            "validation-failed",
        ),
        (
            {
                "title": "x",
                "status": "missing-document",
                "document": "no-such",
                "deadline": "2099-01-01",
            },
            "validation-failed",
        ),
        (
            {
                "title": "x",
                "status": "missing-document",
                "document": "birth-certificate",
                "deadline": "2001-01-01",
            },
            "validation-failed",
        ),
        ({"title": "x\u202etxt", "status": "received"}, "validation-failed"),
        ({"title": "x", "status": "received", "note": "line\nbreak"}, "validation-failed"),
    ],
)
def test_bad_input_is_a_problem_and_changes_nothing(
    hub: Hub, citizens: list[dict[str, Any]], body: dict[str, Any], slug: str
) -> None:
    person = _citizen(citizens, 3)
    opeka = hub.agency("opeka")
    response = hub.put_case(opeka, "CASE-BAD", {"citizen": {"afm": person["afm"]}, **body})
    _problem(response, 400, slug)
    assert hub.log("case.update") == []
    assert hub.outbox("case_status") == []
    _problem(hub.get("/v1/cases/CASE-BAD", opeka), 404, "not-found")


def test_a_cases_citizen_never_changes(hub: Hub, citizens: list[dict[str, Any]]) -> None:
    first, second = _citizen(citizens, 4), _citizen(citizens, 5)
    opeka = hub.agency("opeka")
    body = {"title": "Αίτηση", "status": "received"}
    assert hub.put_case(opeka, "C-1", {"citizen": {"afm": first["afm"]}, **body}).status_code == 201
    moved = hub.put_case(opeka, "C-1", {"citizen": {"afm": second["afm"]}, **body})
    _problem(moved, 409, "conflict")
    assert hub.get("/v1/me/cases", hub.citizen(second)).json()["items"] == []


def test_a_case_naming_the_citizen_by_amka_reaches_them(
    hub: Hub, citizens: list[dict[str, Any]]
) -> None:
    person = _citizen(citizens, 6)
    athens = hub.agency("municipality-athens")
    body = {"citizen": {"amka": person["amka"]}, "title": "Δημοτικός παιδικός σταθμός"}
    assert hub.put_case(athens, "DA-55", {**body, "status": "decided"}).status_code == 201
    (case,) = hub.get("/v1/me/cases", hub.citizen(person)).json()["items"]
    assert case["agency"]["id"] == "municipality-athens"
    assert case["status"] == "decided"
    assert case["offer"] is None


@pytest.mark.parametrize(
    ("reference", "status", "slug"),
    [
        # A line break never matches a route at all.
        ("A%0AB", 404, "not-found"),
        ("A%E2%80%AEB", 400, "validation-failed"),
        ("%20%20", 400, "validation-failed"),
    ],
)
def test_a_reference_with_control_characters_or_blank_is_refused(
    hub: Hub, citizens: list[dict[str, Any]], reference: str, status: int, slug: str
) -> None:
    person = _citizen(citizens, 7)
    response = requests.put(
        f"{hub.url}/v1/cases/{reference}",
        json={"citizen": {"afm": person["afm"]}, "title": "Αίτηση", "status": "received"},
        headers={"Authorization": f"Bearer {hub.agency('opeka')}"},
        timeout=30,
    )
    _problem(response, status, slug)
    assert hub.log("case.update") == []
