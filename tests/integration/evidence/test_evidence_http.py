"""The once-only exchange over real HTTP, against the real sandbox registries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from sqlalchemy import select

from hub.auth.agency_keys import load_agency_private_key
from hub.cli.token import client_assertion
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.clients import agency_token, post_evidence, token_request

SPECS = Path(__file__).resolve().parents[3] / "specs" / "catalog"
PURPOSE_FIELDS = {
    ("school-enrollment", "birth-certificate"): {
        "given_name",
        "surname",
        "birth_date",
        "birth_place",
        "father_name",
        "mother_name",
    },
    ("social-benefit-eligibility", "family-status"): {
        "marital_status",
        "number_of_children",
        "children",
    },
    ("social-benefit-eligibility", "property-ownership"): {"property_count", "properties"},
    ("social-benefit-eligibility", "insurance-status"): {
        "insured",
        "category",
        "valid_until",
        "insured_days",
    },
}
AGENCY = {"school-enrollment": "municipality-athens", "social-benefit-eligibility": "opeka"}


def _schema(evidence_type: str) -> Draft202012Validator:
    path = SPECS / "evidence" / f"{evidence_type}.schema.json"
    return Draft202012Validator(json.loads(path.read_text()))


def _pick(citizens: list[dict[str, Any]], *tags: str) -> dict[str, Any]:
    for citizen in citizens:
        if all(citizen.get(tag) for tag in tags) and not citizen.get("deceased"):
            return citizen
    raise AssertionError(f"no sample citizen with {tags}")


def _log(settings: Settings) -> list[dict[str, Any]]:
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            rows = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx)).all()
            return [json.loads(row.entry) for row in rows]
    finally:
        db.dispose()


@pytest.mark.parametrize(("purpose", "evidence_type"), sorted(PURPOSE_FIELDS))
def test_each_evidence_type_comes_back_minimised_and_valid(
    hub_url: str,
    keys_dir: Path,
    settings: Settings,
    citizens: list[dict[str, Any]],
    purpose: str,
    evidence_type: str,
) -> None:
    citizen = _pick(citizens, "owns_property", "married")
    token = agency_token(hub_url, keys_dir, AGENCY[purpose])
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": evidence_type,
            "purpose": purpose,
            "official": "e.tester",
            "case_reference": "CASE-1",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    evidence = body["evidence"]
    assert evidence, "the registries returned nothing"
    assert set(evidence) <= PURPOSE_FIELDS[(purpose, evidence_type)]
    assert not list(_schema(evidence_type).iter_errors(evidence))
    assert body["request_id"] == response.headers["X-Request-ID"]
    entries = _log(settings)
    assert entries[-1]["outcome"] == "granted"
    assert entries[-1]["subject"] == f"afm:{citizen['afm']}"
    assert entries[-1]["fields"] == sorted(evidence)
    assert entries[-1]["actor"] == {"kind": "agency", "id": AGENCY[purpose], "official": "e.tester"}


def test_citizen_named_by_amka_is_resolved_across_registries(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    citizen = _pick(citizens, "owns_property")
    token = agency_token(hub_url, keys_dir, "opeka")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"amka": citizen["amka"]},
            "evidence_type": "property-ownership",
            "purpose": "social-benefit-eligibility",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["evidence"]["property_count"] >= 1


def test_derived_answers_never_carry_the_raw_field(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    token = agency_token(hub_url, keys_dir, "municipality-athens")
    adult = _pick(citizens, "owns_property")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"afm": adult["afm"]},
            "evidence_type": "birth-certificate",
            "purpose": "youth-card",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["evidence"] == {"adult": True}
    minor = _pick(citizens, "minor")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"afm": minor["afm"]},
            "evidence_type": "birth-certificate",
            "purpose": "youth-card",
        },
    )
    assert response.json()["evidence"] == {"adult": False}


def _properties(sandbox: Any, afm: str) -> list[str]:
    land = requests.get(f"{sandbox.urls['land']}/v1/owners/{afm}/properties", timeout=5)
    return [p["address"]["municipality"] for p in land.json()["properties"]]


def test_owns_property_in_municipality_is_a_yes_or_no(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]], sandbox: Any
) -> None:
    # The municipality of Athens asks about Athens, its registered jurisdiction.
    owners = [c for c in citizens if c.get("owns_property") and not c.get("deceased")]
    inside = next(c for c in owners if "Αθήνα" in _properties(sandbox, c["afm"]))
    outside = next(c for c in owners if "Αθήνα" not in _properties(sandbox, c["afm"]))
    token = agency_token(hub_url, keys_dir, "municipality-athens")
    for owner, expected in ((inside, True), (outside, False)):
        response = post_evidence(
            hub_url,
            token,
            {
                "citizen": {"afm": owner["afm"]},
                "evidence_type": "property-ownership",
                "purpose": "local-property-check",
                "parameters": {"municipality": "ΑΘΗΝΑ"},
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["evidence"] == {"owns_property_in_municipality": expected}
        # The catalogue's spelling is what the answer ran with.
        assert response.json()["parameters"] == {"municipality": "Αθήνα"}


def _problem(response: requests.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == PROBLEM_BASE + slug
    return problem


def _token_error(response: requests.Response, error: str, slug: str) -> dict[str, Any]:
    """A token endpoint refusal: RFC 6749 §5.2 JSON that is also a problem."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert (body["error"], body["type"]) == (error, PROBLEM_BASE + slug)
    return body


def test_bad_input_gets_the_right_problem_and_is_logged(
    hub_url: str, keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    citizen = citizens[0]
    token = agency_token(hub_url, keys_dir, "opeka")
    base = {"evidence_type": "family-status", "purpose": "social-benefit-eligibility"}
    wrong_digit = citizen["afm"][:8] + str((int(citizen["afm"][8]) + 1) % 10)
    _problem(
        post_evidence(hub_url, token, {**base, "citizen": {"afm": wrong_digit}}),
        400,
        "invalid-identifier",
    )
    _problem(
        post_evidence(hub_url, token, {**base, "citizen": {"amka": "123"}}),
        400,
        "invalid-identifier",
    )
    _problem(
        post_evidence(
            hub_url, token, {**base, "citizen": {"afm": citizen["afm"], "amka": citizen["amka"]}}
        ),
        400,
        "validation-failed",
    )
    malformed = requests.post(
        f"{hub_url}/v1/evidence",
        data=b'{"citizen": ',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    _problem(malformed, 400, "validation-failed")
    _problem(
        post_evidence(hub_url, None, {**base, "citizen": {"afm": citizen["afm"]}}),
        401,
        "unauthorized",
    )
    _problem(
        post_evidence(hub_url, "not-a-token", {**base, "citizen": {"afm": citizen["afm"]}}),
        401,
        "invalid-token",
    )
    _problem(
        post_evidence(
            hub_url,
            token,
            {**base, "purpose": "school-enrollment", "citizen": {"afm": citizen["afm"]}},
        ),
        403,
        "purpose-not-allowed",
    )
    _problem(
        post_evidence(
            hub_url,
            token,
            {**base, "evidence_type": "birth-certificate", "citizen": {"afm": citizen["afm"]}},
        ),
        403,
        "purpose-not-allowed",
    )
    # 090000045 has a valid check digit but is not in the sandbox population.
    _problem(
        post_evidence(hub_url, token, {**base, "citizen": {"afm": "090000045"}}),
        404,
        "citizen-not-found",
    )
    outcomes = [(e["outcome"], e["reason"]) for e in _log(settings)]
    assert ("denied", "purpose-not-allowed") in outcomes
    assert ("denied", "citizen-not-found") in outcomes


def test_consent_purpose_without_consent_is_refused_with_a_way_forward(
    hub_url: str, keys_dir: Path, settings: Settings, citizens: list[dict[str, Any]]
) -> None:
    token = agency_token(hub_url, keys_dir, "bank-demo")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"afm": citizens[0]["afm"]},
            "evidence_type": "property-ownership",
            "purpose": "mortgage-application",
        },
    )
    problem = _problem(response, 403, "consent-required")
    assert problem["type"].endswith("consent-required")
    assert problem["consent_request_endpoint"] == "/v1/consent-requests"
    assert _log(settings)[-1]["outcome"] == "denied"


def test_token_endpoint_refuses_replays_and_wrong_grants(hub_url: str, keys_dir: Path) -> None:
    kid, key = load_agency_private_key(keys_dir, "opeka")
    assertion = client_assertion("opeka", f"{hub_url}/oauth2/token", kid, key)
    first = token_request(hub_url, assertion)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json()["scope"].split() == [
        "social-benefit-eligibility",
        "benefit-fraud-investigation",
    ]
    _token_error(token_request(hub_url, assertion), "invalid_client", "invalid-client")
    wrong_audience = client_assertion("opeka", "https://elsewhere.example/token", kid, key)
    _token_error(token_request(hub_url, wrong_audience), "invalid_client", "invalid-client")
    wrong_grant = requests.post(
        f"{hub_url}/oauth2/token",
        data={
            "grant_type": "password",
            "client_assertion_type": "x",
            "client_assertion": assertion,
        },
        timeout=10,
    )
    _token_error(wrong_grant, "unsupported_grant_type", "unsupported-grant-type")
