"""The catalogue over HTTP: an agency's own view, the public directory, reload in place."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select

from hub.app import build_services, create_app, reload_catalog
from hub.cli.token import client_assertion
from hub.config import Settings
from hub.errors import ConfigError
from hub.persistence import migrate
from hub.persistence.models import AuditEntryRow
from hub.services import Services
from tests.common.clients import agency_token, post_evidence, token_request
from tests.common.server import free_port, serve

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "catalog_extension"


def test_public_directory_lists_every_evidence_type(hub_url: str) -> None:
    response = requests.get(f"{hub_url}/v1/catalog/evidence-types", timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    body = response.json()
    assert body["version"].startswith("sha256:")
    by_id = {kind["id"]: kind for kind in body["evidence_types"]}
    assert set(by_id) == {
        "birth-certificate",
        "family-status",
        "insurance-status",
        "property-ownership",
    }
    birth = by_id["birth-certificate"]
    assert birth["title"] == {"el": "Πιστοποιητικό γέννησης", "en": "Birth certificate"}
    assert {"name": "adult", "label": {"el": "Ενήλικος", "en": "Adult"}} in birth["fields"]
    assert birth["registries"] == [
        {"id": "population", "name": "Population and civil-status registry"}
    ]
    assert by_id["insurance-status"]["identifiers"] == ["amka"]


def test_agency_sees_only_its_own_purposes(hub_url: str, keys_dir: Path) -> None:
    assert requests.get(f"{hub_url}/v1/catalog", timeout=10).status_code == 401
    token = agency_token(hub_url, keys_dir, "municipality-athens")
    response = requests.get(
        f"{hub_url}/v1/catalog", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["agency"] == "municipality-athens"
    purposes = {p["id"]: p for p in body["purposes"]}
    catalog = _yaml(ROOT / "specs/catalog/purposes.yaml")["purposes"]
    expected = {pid for pid, p in catalog.items() if "municipality-athens" in p.get("agencies", [])}
    assert set(purposes) == expected
    for pid, purpose in purposes.items():
        declared = catalog[pid]
        assert purpose["consent_required"] == bool(declared.get("consent_required", False))
        assert purpose["legal_basis"] == declared.get("legal_basis")
        for item in purpose["evidence"]:
            names = [f["name"] for f in item["fields"]]
            assert names == list(declared["evidence"][item["evidence_type"]])
    with_parameter = [p for p in purposes.values() if p["parameters"]]
    assert with_parameter, "the Athens municipality has a purpose with a parameter"
    assert with_parameter[0]["parameters"]["municipality"] == {"from_jurisdiction": "municipality"}


def _yaml(path: Path) -> Any:
    import yaml  # noqa: PLC0415

    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass
class ReloadableHub:
    url: str
    specs: Path
    services: Services


@pytest.fixture
def reloadable_hub(settings: Settings, tmp_path: Path) -> Iterator[ReloadableHub]:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    port = free_port()
    settings = replace(settings, specs_dir=specs, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield ReloadableHub(url, specs, services)
    services.close()


def _directory(url: str) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(f"{url}/v1/catalog/evidence-types", timeout=10).json()
    return body


def _add_extension(specs: Path) -> None:
    for path in (FIXTURE / "evidence").iterdir():
        shutil.copy(path, specs / "catalog" / "evidence" / path.name)
    purposes = (specs / "catalog" / "purposes.yaml").read_text()
    extra = (FIXTURE / "purposes.yaml").read_text().split("purposes:\n", 1)[1]
    (specs / "catalog" / "purposes.yaml").write_text(purposes + extra)


def test_reload_puts_a_new_evidence_type_in_force_without_restart(
    reloadable_hub: ReloadableHub, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    hub = reloadable_hub
    before = _directory(hub.url)
    assert "identity-summary" not in {k["id"] for k in before["evidence_types"]}
    _add_extension(hub.specs)
    version = reload_catalog(hub.services)
    after = _directory(hub.url)
    assert after["version"] == version != before["version"]
    assert "identity-summary" in {k["id"] for k in after["evidence_types"]}
    # The new purpose works at once, and its log entry names the new catalogue.
    citizen = next(c for c in citizens if not c["deceased"])
    token = agency_token(hub.url, keys_dir, "municipality-athens")
    response = post_evidence(
        hub.url,
        token,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "identity-summary",
            "purpose": "travel-document-check",
        },
    )
    assert response.status_code == 200, response.text
    with hub.services.db.session() as session:
        row = session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.idx.desc())).first()
    assert row is not None
    entry = json.loads(row.entry)
    assert entry["v"] == 3
    assert entry["catalog_version"] == version


def test_an_invalid_catalogue_leaves_the_old_one_serving(reloadable_hub: ReloadableHub) -> None:
    hub = reloadable_hub
    before = _directory(hub.url)
    purposes = hub.specs / "catalog" / "purposes.yaml"
    purposes.write_text(
        purposes.read_text()
        + "\n  broken:\n    description: x\n    legal_basis: law\n    evidence: {nothing: []}\n"
    )
    with pytest.raises(ConfigError, match="unknown evidence type nothing"):
        reload_catalog(hub.services)
    assert _directory(hub.url) == before
    (hub.specs / "catalog" / "evidence" / "birth-certificate.yaml").write_text("mapping: [")
    with pytest.raises(ConfigError):
        reload_catalog(hub.services)
    assert _directory(hub.url) == before


@pytest.mark.parametrize(
    "citizen", [{"passport": "X1234"}, {"adt": "AB123456"}, {"kaek": "000000000000"}]
)
def test_an_undeclared_kind_or_a_failing_value_is_an_invalid_identifier(
    hub_url: str, keys_dir: Path, citizen: dict[str, str]
) -> None:
    token = agency_token(hub_url, keys_dir, "opeka")
    response = post_evidence(
        hub_url,
        token,
        {
            "citizen": citizen,
            "evidence_type": "property-ownership",
            "purpose": "social-benefit-eligibility",
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/invalid-identifier")


def test_the_directory_lists_the_identifier_kinds(hub_url: str) -> None:
    kinds = {k["kind"]: k for k in _directory(hub_url)["identifier_kinds"]}
    assert {"afm", "amka", "adt", "company_afm", "kaek"} <= set(kinds)
    assert kinds["kaek"]["subject"] == "property"


def test_the_public_page_lists_the_services_in_greek_and_english(hub_url: str) -> None:
    html = {"Accept": "text/html"}
    greek = requests.get(f"{hub_url}/", headers=html, timeout=10).text
    assert "Κατάλογος υπηρεσιών" in greek
    assert "Βεβαίωση ακίνητης περιουσίας" in greek
    assert "Κατέχει ακίνητο στον δήμο" in greek  # a field's Greek label
    assert "Κτηματολόγιο" in greek  # the registry, in the catalogue's Greek label
    assert "Land registry (Ktimatologio)" not in greek
    assert "διατίθεται και ως πιστοποιητικό" in greek
    assert 'href="/v1/catalog/evidence-types"' in greek
    english = requests.get(f"{hub_url}/?lang=en", headers=html, timeout=10).text
    assert "Property ownership certificate" in english
    assert "Owns property in the municipality" in english
    assert "Land registry (Ktimatologio)" in english


def _add_patras(hub: ReloadableHub, jwks: str) -> None:
    """Add the agency municipality-patras, with ``jwks`` (YAML), to the hub's catalogue files."""
    agencies = hub.specs / "catalog" / "agencies.yaml"
    agencies.write_text(
        agencies.read_text()
        + "  municipality-patras:\n"
        + "    labels: {el: Δήμος Πατρέων, en: Municipality of Patras}\n"
        + "    name: Δήμος Πατρέων\n"
        + "    kind: municipality\n"
        + f"    jwks: {jwks}\n",
        encoding="utf-8",
    )


def test_reload_puts_a_new_agency_and_its_key_in_force_without_restart(
    reloadable_hub: ReloadableHub,
) -> None:
    # The token endpoint reads the agencies' keys through the catalogue in
    # force, as the evidence, case and notification services read the rest.
    hub = reloadable_hub
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "reload-1"
    _add_patras(hub, f"{{keys: [{json.dumps(jwk)}]}}")

    def ask() -> requests.Response:
        endpoint = f"{hub.url}/oauth2/token"
        return token_request(
            hub.url, client_assertion("municipality-patras", endpoint, "reload-1", key)
        )

    assert ask().status_code in (400, 401)
    reload_catalog(hub.services)
    answer = ask()
    assert answer.status_code == 200, answer.text
    current = hub.services.catalog.holder.current
    assert "municipality-patras" in current.agencies
    assert hub.services.cases.catalog is current
    assert hub.services.notifications.catalog is current


def test_a_reload_whose_agency_key_does_not_read_is_refused(
    reloadable_hub: ReloadableHub,
) -> None:
    hub = reloadable_hub
    before = hub.services.catalog.holder.current
    _add_patras(hub, '{keys: [{kty: EC, crv: P-256, x: "AAAA", y: "AAAA", kid: bad}]}')
    with pytest.raises(ConfigError, match="municipality-patras"):
        reload_catalog(hub.services)
    assert hub.services.catalog.holder.current is before
