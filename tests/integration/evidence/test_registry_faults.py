"""A failing, slow or hostile registry never causes a 500 or a hang.

Each test starts sandbox registries that misbehave in one way and a hub whose
registry timeout is one second; the client's own timeout bounds every call,
so a hang in the hub fails the test instead of stalling it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.faults import Faults
from adapters.sandbox.runner import start_sandbox
from hub.app import build_services, create_app
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from hub.persistence import migrate
from tests.common.clients import agency_token, post_evidence
from tests.common.server import free_port, serve
from tests.conftest import SANDBOX_SEED

SIZE = 300


def _hub(settings: Settings, urls: dict[str, str]) -> Iterator[str]:
    port = free_port()
    settings = replace(
        settings,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        registry_urls=urls,
        registry_timeout=1.0,
        sandbox_population=SIZE,
    )
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield url
    services.close()


@pytest.fixture
def faulty(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[str, Any]]:
    registry, spec = request.param
    handle = start_sandbox(
        base_port=0, size=SIZE, seed=SANDBOX_SEED, faults={registry: Faults.parse(spec)}
    )
    try:
        yield from ((url, handle) for url in _hub(settings, dict(handle.urls)))
    finally:
        handle.stop()


def _request(url: str, keys_dir: Path, handle: Any, evidence_type: str) -> requests.Response:
    citizen = handle.population.citizen(7)
    token = agency_token(url, keys_dir, "opeka")
    return post_evidence(
        url,
        token,
        {
            "citizen": {"afm": citizen.afm},
            "evidence_type": evidence_type,
            "purpose": "social-benefit-eligibility",
        },
    )


def _assert_problem(response: requests.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + slug
    assert "Traceback" not in response.text


CASES = [
    (("population", "hang_rate=1,hang_seconds=30"), "family-status", 504, "registry-timeout"),
    (("population", "latency=3000"), "family-status", 504, "registry-timeout"),
    (("land", "error_rate=1"), "property-ownership", 502, "registry-error"),
    (("population", "error_rate=1"), "family-status", 502, "registry-error"),
    (("population", "malformed_rate=1"), "family-status", 502, "registry-error"),
    (("land", "malformed_rate=1"), "property-ownership", 502, "registry-error"),
    (("population", "hostile=xxe"), "family-status", 502, "registry-error"),
    (("population", "hostile=billion_laughs"), "family-status", 502, "registry-error"),
    (("population", "hostile=dtd"), "family-status", 502, "registry-error"),
    (("population", "hostile=wrong_namespace"), "family-status", 502, "registry-error"),
    (
        ("social-security", "hostile=huge,huge_bytes=52428800"),
        "insurance-status",
        502,
        "registry-error",
    ),
    (("land", "hostile=huge,huge_bytes=52428800"), "property-ownership", 502, "registry-error"),
    (("land", "hostile=deep_nesting"), "property-ownership", 502, "registry-error"),
]


@pytest.mark.parametrize(
    ("faulty", "evidence_type", "status", "slug"),
    CASES,
    indirect=["faulty"],
    ids=[f"{c[0][0]}:{c[0][1]}" for c in CASES],
)
def test_registry_trouble_becomes_a_clean_problem(
    faulty: tuple[str, Any], keys_dir: Path, evidence_type: str, status: int, slug: str
) -> None:
    url, handle = faulty
    _assert_problem(_request(url, keys_dir, handle, evidence_type), status, slug)


def test_unreachable_registry_is_503_and_the_circuit_opens(
    settings: Settings, keys_dir: Path, sandbox: Any
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    urls = {**sandbox.urls, "land": dead}
    for url in _hub(settings, urls):
        citizen = sandbox.population.citizen(3)
        token = agency_token(url, keys_dir, "opeka")
        body = {
            "citizen": {"afm": citizen.afm},
            "evidence_type": "property-ownership",
            "purpose": "social-benefit-eligibility",
        }
        details = []
        for _ in range(4):
            response = post_evidence(url, token, body)
            _assert_problem(response, 503, "registry-unavailable")
            details.append(response.json()["detail"])
        assert any("circuit is open" in d for d in details)
        # The other registries still answer while land's circuit is open.
        other = post_evidence(url, token, {**body, "evidence_type": "family-status"})
        assert other.status_code == 200, other.text
        metrics = requests.get(f"{url}/metrics", timeout=5).text
        assert 'hub_registry_calls_total{outcome="circuit-open",registry="land"}' in metrics
