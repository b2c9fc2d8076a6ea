"""What an evidence answer and its log entry record, replayed as attackers over real HTTP.

* a municipality asking about property in another municipality (the Volos
  attack) is refused, and the attempt is logged with the parameter it tried;
* the case reference reaches the log and the citizen's history;
* control and bidi-control characters in the official or the case reference
  are refused and change nothing;
* a client's ``X-Request-ID`` never becomes the request id of the log or the
  seal, even when two agencies send the same one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hub.config import Settings
from hub.errors import PROBLEM_BASE
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.browser import Browser
from tests.common.clients import agency_token, post_evidence
from tests.common.server import serve_hub


@pytest.fixture
def hub(settings: Settings) -> Iterator[tuple[str, Any]]:
    with serve_hub(settings) as (url, services, _):
        yield url, services


def _log(settings: Settings) -> list[dict[str, Any]]:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            rows = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx)).all()
            return [json.loads(row.entry) for row in rows]
    finally:
        db.dispose()


def _count(settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)
    finally:
        db.dispose()


def _problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + slug, problem
    return problem


def _owner(citizens: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in citizens if c.get("owns_property") and not c.get("deceased"))


def _property_check(citizen: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "citizen": {"afm": citizen["afm"]},
        "evidence_type": "property-ownership",
        "purpose": "local-property-check",
        **extra,
    }


# -- 13 §2: purpose parameters come from the catalogue -------------------------------------


def test_a_municipality_cannot_ask_about_another_municipality(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    url, _ = hub
    owner = _owner(citizens)
    athens = agency_token(url, keys_dir, "municipality-athens")

    # The attack: Athens asks whether the citizen owns property in Volos.
    response = post_evidence(
        url, athens, _property_check(owner, parameters={"municipality": "Βόλος"})
    )
    problem = _problem(response, 403, "parameter-not-allowed")
    assert problem["parameter"] == "municipality"
    assert "evidence" not in problem
    denied = _log(settings)[-1]
    assert denied["outcome"] == "denied"
    assert denied["reason"] == "parameter-not-allowed"
    assert denied["parameters"] == {"municipality": "Βόλος"}
    assert denied["subject"] == f"afm:{owner['afm']}"

    # A parameter the purpose does not declare is refused the same way.
    _problem(
        post_evidence(url, athens, _property_check(owner, parameters={"region": "Αττική"})),
        403,
        "parameter-not-allowed",
    )
    opeka = agency_token(url, keys_dir, "opeka")
    _problem(
        post_evidence(
            url,
            opeka,
            {
                "citizen": {"afm": owner["afm"]},
                "evidence_type": "property-ownership",
                "purpose": "social-benefit-eligibility",
                "parameters": {"municipality": "Βόλος"},
            },
        ),
        403,
        "parameter-not-allowed",
    )

    # Left out, the parameter is the agency's own, and that is what is recorded.
    allowed = post_evidence(url, athens, _property_check(owner))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["parameters"] == {"municipality": "Αθήνα"}
    assert set(allowed.json()["evidence"]) == {"owns_property_in_municipality"}
    granted = _log(settings)[-1]
    assert granted["outcome"] == "granted"
    assert granted["parameters"] == {"municipality": "Αθήνα"}


# -- 13 §4: accountability fields ---------------------------------------------------------


def test_the_case_reference_reaches_the_log_and_the_citizens_history(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    url, services = hub
    owner = _owner(citizens)
    token = agency_token(url, keys_dir, "municipality-athens")
    response = post_evidence(
        url,
        token,
        _property_check(owner, official="Ε. Παπαδοπούλου", case_reference="ΔΑ-2026/4711"),
    )
    assert response.status_code == 200, response.text
    entry = _log(settings)[-1]
    assert entry["case_reference"] == "ΔΑ-2026/4711"
    assert entry["actor"]["official"] == "Ε. Παπαδοπούλου"

    citizen = services.tokens.issue_citizen(owner["afm"], owner["amka"], owner["name"])
    history = requests.get(
        f"{url}/v1/me/access-log",
        headers={"Authorization": f"Bearer {citizen.access_token}"},
        timeout=10,
    )
    assert history.status_code == 200, history.text
    latest = history.json()["items"][0]
    assert latest["action"] == "evidence.request"
    assert latest["case_reference"] == "ΔΑ-2026/4711"


def test_the_case_reference_is_on_the_citizens_history_page(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings
) -> None:
    from hub.web.signin import demo_citizens  # noqa: PLC0415

    url, services = hub
    person = next(
        c
        for c in demo_citizens(services.settings)
        if not c["deceased"] and not c["minor"] and "owns_property" in c["tags"]
    )
    token = agency_token(url, keys_dir, "municipality-athens")
    response = post_evidence(url, token, _property_check(person, case_reference="ΔΑ-2026/4711"))
    assert response.status_code == 200, response.text
    browser = Browser(url)
    signed_in = browser.post(
        "/signin",
        {"role": "citizen", "citizen": person["afm"], "next": "/me/history"},
        form_page="/signin",
    )
    assert signed_in.headers["Location"] == "/me/history"
    page = browser.get("/me/history")
    assert page.status_code == 200, page.text[:500]
    assert "ΔΑ-2026/4711" in page.text
    assert "Αριθμός υπόθεσης της υπηρεσίας" in page.text


HOSTILE_TEXT = (
    "official\r\nForged: line",
    "nul\x00byte",
    "Ε. Παπα\u202edopoulou",
    "left\u200emark",
    "isolate\u2066x\u2069",
    "arabic\u061cmark",
    "bell\x07",
    "c1\x85control",
)


def test_control_and_bidi_characters_are_refused_and_change_nothing(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    url, _ = hub
    token = agency_token(url, keys_dir, "municipality-athens")
    before = _count(settings)
    for field in ("official", "case_reference"):
        for text in HOSTILE_TEXT:
            response = post_evidence(url, token, _property_check(_owner(citizens), **{field: text}))
            problem = _problem(response, 400, "validation-failed")
            assert field in problem["detail"]
            # The problem names the field, never echoes the hostile value.
            assert text not in response.text
    assert _count(settings) == before
    # The same characters in a parameter value are refused too.
    response = post_evidence(
        url, token, _property_check(_owner(citizens), parameters={"municipality": "Αθή\u202eνα"})
    )
    _problem(response, 400, "validation-failed")
    for name in ("x" * 65, "muni\ncipality"):
        response = post_evidence(
            url, token, _property_check(_owner(citizens), parameters={name: "a"})
        )
        _problem(response, 400, "validation-failed")
    assert _count(settings) == before


def test_a_consent_request_refuses_a_forged_official(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    url, _ = hub
    bank = agency_token(url, keys_dir, "bank-demo")
    before = _count(settings)
    response = requests.post(
        f"{url}/v1/consent-requests",
        json={
            "citizen": {"afm": _owner(citizens)["afm"]},
            "purpose": "mortgage-application",
            "evidence_types": ["property-ownership"],
            "official": "officer\u202e21",
        },
        headers={"Authorization": f"Bearer {bank}"},
        timeout=10,
    )
    _problem(response, 400, "validation-failed")
    assert _count(settings) == before


def test_a_clients_request_id_is_kept_apart_from_the_hubs(
    hub: tuple[str, Any], keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    url, _ = hub
    owner = _owner(citizens)
    seen: list[str] = []
    # Two agencies send the same id: each request still has its own.
    for agency, body in (
        ("municipality-athens", _property_check(owner)),
        (
            "opeka",
            {
                "citizen": {"afm": owner["afm"]},
                "evidence_type": "insurance-status",
                "purpose": "social-benefit-eligibility",
            },
        ),
    ):
        token = agency_token(url, keys_dir, agency)
        response = requests.post(
            f"{url}/v1/evidence",
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "shared-id-1"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        hub_id = response.headers["X-Request-ID"]
        assert hub_id != "shared-id-1"
        assert response.headers["X-Client-Request-ID"] == "shared-id-1"
        assert response.json()["request_id"] == hub_id
        entry = _log(settings)[-1]
        assert entry["request_id"] == hub_id
        assert entry["client_request_id"] == "shared-id-1"
        seen.append(hub_id)
    assert len(set(seen)) == 2
