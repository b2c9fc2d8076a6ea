"""Two registries onboarded by files only, asked for evidence through a real hub.

The catalogue extension (tests/fixtures/catalog_onboarding, named by
HUB_CATALOG_DIRS) carries the registries' entries, their OpenAPI and WSDL,
two evidence types and two purposes; the secrets come from HUB_REGISTRY_*
settings. Nothing in the hub knows either registry by name.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox.education import qualifications_of
from adapters.sandbox.onboarding import OnboardingSandbox, make_test_pki
from adapters.sandbox.population import Citizen, Population
from adapters.sandbox.vehicles import vehicles_of
from hub.catalog.files import load_configured_catalog
from hub.config import Settings
from hub.errors import ConfigError
from hub.evidence.factory import build_registry_clients
from hub.metrics import Metrics
from tests.common.clients import agency_token, post_evidence
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE
from tests.integration.registries._onboarding import onboarded_settings

AGENCY = "municipality-athens"


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(SANDBOX_SIZE, SANDBOX_SEED)


def _alive(population: Population, wanted: Any) -> Citizen:
    return next(c for c in population if c.alive and wanted(c))


def _ask(
    url: str, keys_dir: Path, evidence_type: str, purpose: str, citizen: dict[str, str]
) -> Any:
    token = agency_token(url, keys_dir, AGENCY)
    return post_evidence(
        url, token, {"citizen": citizen, "evidence_type": evidence_type, "purpose": purpose}
    )


def _vehicles(citizen: Citizen) -> list[dict[str, Any]]:
    return [
        {
            "plate": v["plate"],
            "kind": v["kind"],
            "make": v["make"],
            "first_registered": v["firstRegistered"],
        }
        for v in vehicles_of(citizen)
    ]


def test_vehicles_come_from_the_oauth2_registry_with_a_cached_token(
    onboarded_hub: Any, onboarding: OnboardingSandbox, keys_dir: Path, population: Population
) -> None:
    owner = _alive(population, lambda c: len(vehicles_of(c)) >= 2)
    nobody = _alive(population, lambda c: not c.is_minor and not vehicles_of(c))
    issued = onboarding.vehicles.tokens_issued
    with onboarded_hub() as (url, _, _):
        first = _ask(url, keys_dir, "vehicle-ownership", "parking-permit", {"afm": owner.afm})
        assert first.status_code == 200, first.text
        assert first.json()["evidence"] == {
            "vehicles": _vehicles(owner),
            "vehicle_count": len(vehicles_of(owner)),
        }
        second = _ask(url, keys_dir, "vehicle-ownership", "parking-permit", {"afm": nobody.afm})
        assert second.status_code == 200, second.text
        assert second.json()["evidence"] == {"vehicles": [], "vehicle_count": 0}
    # One token served both calls: it is cached until shortly before it expires.
    assert onboarding.vehicles.tokens_issued == issued + 1


def test_qualifications_come_from_the_soap12_registry_over_mutual_tls(
    onboarded_hub: Any, onboarding: OnboardingSandbox, keys_dir: Path, population: Population
) -> None:
    graduate = _alive(population, lambda c: len(qualifications_of(c)) >= 1)
    answered = onboarding.education.answered
    with onboarded_hub() as (url, _, _):
        # Asked by AFM: the hub resolves the AMKA the education registry is keyed by.
        response = _ask(
            url, keys_dir, "education-qualifications", "scholarship-check", {"afm": graduate.afm}
        )
    assert response.status_code == 200, response.text
    assert response.json()["evidence"] == {
        "qualifications": [
            {
                "title": title,
                "level": level,
                "institution": institution,
                "awarded_on": awarded.isoformat(),
            }
            for title, level, institution, awarded in qualifications_of(graduate)
        ],
        "has_degree": True,
    }
    assert onboarding.education.answered == answered + 1


def test_a_wrong_client_secret_is_a_registry_error_problem(
    onboarded_hub: Any, keys_dir: Path, population: Population
) -> None:
    owner = _alive(population, lambda c: bool(vehicles_of(c)))
    with onboarded_hub(HUB_REGISTRY_CREDENTIALS_VEHICLES="hub:not-the-secret") as (url, _, _):
        response = _ask(url, keys_dir, "vehicle-ownership", "parking-permit", {"afm": owner.afm})
    assert response.status_code == 502, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("registry-error")
    assert "Traceback" not in response.text
    assert "not-the-secret" not in response.text


def test_a_wrong_digest_password_is_a_registry_error_problem(
    onboarded_hub: Any, keys_dir: Path, population: Population
) -> None:
    graduate = _alive(population, lambda c: bool(qualifications_of(c)))
    with onboarded_hub(HUB_REGISTRY_CREDENTIALS_EDUCATION="hub:wrong") as (url, _, _):
        response = _ask(
            url, keys_dir, "education-qualifications", "scholarship-check", {"amka": graduate.amka}
        )
    assert response.status_code == 502, response.text
    assert response.json()["type"].endswith("registry-error")


def test_a_client_certificate_the_registry_does_not_trust_is_a_problem(
    onboarded_hub: Any,
    onboarding: OnboardingSandbox,
    keys_dir: Path,
    population: Population,
    tmp_path: Path,
) -> None:
    stranger = make_test_pki(tmp_path / "stranger", client_ca=False)
    graduate = _alive(population, lambda c: bool(qualifications_of(c)))
    answered = onboarding.education.answered
    with onboarded_hub(
        HUB_REGISTRY_CLIENT_CERT_EDUCATION=str(stranger.client_cert),
        HUB_REGISTRY_CLIENT_KEY_EDUCATION=str(stranger.client_key),
    ) as (url, _, _):
        response = _ask(
            url, keys_dir, "education-qualifications", "scholarship-check", {"amka": graduate.amka}
        )
    # With TLS 1.3 the server judges the client's certificate after the
    # handshake: the hub sees its alert (a TLS failure: registry-error) or,
    # when the server has already closed, a reset connection (unreachable).
    assert response.status_code in (502, 503), response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].rsplit("/", 1)[1] in ("registry-error", "registry-unavailable")
    assert onboarding.education.answered == answered


def test_a_registry_certificate_from_another_ca_is_a_registry_error(
    onboarded_hub: Any,
    onboarding: OnboardingSandbox,
    keys_dir: Path,
    population: Population,
    tmp_path: Path,
) -> None:
    stranger = make_test_pki(tmp_path / "stranger")
    graduate = _alive(population, lambda c: bool(qualifications_of(c)))
    answered = onboarding.education.answered
    with onboarded_hub(HUB_REGISTRY_CA_FILE_EDUCATION=str(stranger.ca_cert)) as (url, _, _):
        response = _ask(
            url, keys_dir, "education-qualifications", "scholarship-check", {"amka": graduate.amka}
        )
    # The hub refuses the handshake itself: always a TLS failure, never retried.
    assert response.status_code == 502, response.text
    assert response.json()["type"].endswith("registry-error")
    assert onboarding.education.answered == answered


def test_without_a_client_certificate_the_hub_does_not_start(
    settings: Settings, onboarding: OnboardingSandbox
) -> None:
    with_files = onboarded_settings(settings, onboarding)
    files = dict(with_files.registry_files)
    files["education"] = {k: v for k, v in files["education"].items() if k == "ca_file"}
    with pytest.raises(ConfigError, match="HUB_REGISTRY_CLIENT_CERT_"):
        build_registry_clients(
            replace(with_files, registry_files=files),
            load_configured_catalog(with_files),
            Metrics(),
        )


def test_an_expired_token_is_refreshed(
    onboarded_hub: Any, onboarding: OnboardingSandbox, keys_dir: Path, population: Population
) -> None:
    owner = _alive(population, lambda c: bool(vehicles_of(c)))
    onboarding.vehicles.token_ttl = 1.0
    try:
        with onboarded_hub() as (url, _, _):
            issued = onboarding.vehicles.tokens_issued
            ask = lambda: _ask(  # noqa: E731
                url, keys_dir, "vehicle-ownership", "parking-permit", {"afm": owner.afm}
            )
            assert ask().status_code == 200
            time.sleep(1.2)  # The token's whole life: the hub must fetch a new one.
            assert ask().status_code == 200
            assert onboarding.vehicles.tokens_issued == issued + 2
            # A registry that drops its tokens early (a key rotation) answers
            # 401 to the cached one: the hub fetches a fresh token and retries once.
            onboarding.vehicles.token_ttl = 300.0
            time.sleep(1.2)
            assert ask().status_code == 200  # A third token, good for 300 s.
            assert onboarding.vehicles.tokens_issued == issued + 3
            onboarding.vehicles.revoke_all()
            response = ask()
            assert response.status_code == 200, response.text
            assert onboarding.vehicles.tokens_issued == issued + 4
    finally:
        onboarding.vehicles.token_ttl = 300.0
