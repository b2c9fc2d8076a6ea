"""Provenance: each evidence field names its registry, and as of when where the registry says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sandbox.population import REFERENCE_DATE
from tests.common.clients import agency_token, post_evidence
from tests.integration.evidence.test_evidence_seal import _verify_seal


def _ask(hub_url: str, keys_dir: Path, citizen: dict[str, Any], evidence_type: str) -> Any:
    token = agency_token(hub_url, keys_dir, "opeka")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": evidence_type,
            "purpose": "social-benefit-eligibility",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_land_registrys_as_of_reaches_the_answer_and_the_seal(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    owner = next(c for c in citizens if c.get("owns_property") and not c.get("deceased"))
    body = _ask(hub_url, keys_dir, owner, "property-ownership")
    land = [{"registry": "land", "as_of": REFERENCE_DATE.isoformat()}]
    # Every shared field, the derived count too, and nothing that was not shared.
    assert body["provenance"] == dict.fromkeys(body["evidence"], land)
    assert set(body["provenance"]) == {"property_count", "properties"}
    payload = _verify_seal(hub_url, body["seal"])
    assert payload["provenance"] == body["provenance"]


def test_a_registry_that_gives_no_date_has_a_null_as_of(
    hub_url: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    citizen = next(c for c in citizens if c.get("married") and not c.get("deceased"))
    body = _ask(hub_url, keys_dir, citizen, "family-status")
    assert body["provenance"]
    for name, origins in body["provenance"].items():
        assert origins == [{"registry": "population", "as_of": None}], name
