"""Hostile answers from a registry: refused quickly, cleanly, and without a leak.

A registry that is compromised or broken may answer with external entities,
billion laughs, a DTD to fetch, a 50 MB body, deep nesting or a document in
a foreign namespace. The sandbox's fault injection sends each of these over
real HTTP, from the SOAP registries (through zeep) and from the REST land
registry, to a hub running as its own process. For each one:

* the agency gets a 502 ``registry-error`` problem document, quickly;
* the answer leaks nothing of the hostile document: no file content from an
  entity, no expanded laughs, no XML, no registry address, no traceback;
* the hub's peak memory stays far below the size of the body it was sent, so
  it never held the 50 MB;
* ``/healthz`` keeps answering quickly meanwhile;
* once the registry behaves again, the same request is served (the hostile
  answer did not wedge the client or leave the circuit open).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.faults import Faults
from adapters.sandbox.runner import start_sandbox
from hub.errors import PROBLEM_BASE
from tests.common.clients import agency_token
from tests.common.hubs import HealthMonitor, HubProcess, hub_process_on
from tests.conftest import SANDBOX_SEED

pytestmark = pytest.mark.slow

SIZE = 300
HUGE = 50 * 1024 * 1024
#: How long a refusal may take; the registry timeout is 5 s, so a hub that
#: waited for the whole hostile body, or for a DTD, would miss it.
MAX_SECONDS = 3.0
#: Peak memory may grow by at most this much while one hostile answer is refused.
MAX_GROWTH = 24 * 1024 * 1024
EVIDENCE = {
    "population": "family-status",
    "land": "property-ownership",
    "social-security": "insurance-status",
}
CASES = [
    ("population", "xxe"),
    ("population", "billion_laughs"),
    ("population", "dtd"),
    ("population", "wrong_namespace"),
    ("population", "deep_nesting"),
    ("population", "huge"),
    ("social-security", "xxe"),
    ("social-security", "billion_laughs"),
    ("social-security", "huge"),
    ("land", "xxe"),
    ("land", "billion_laughs"),
    ("land", "dtd"),
    ("land", "wrong_namespace"),
    ("land", "deep_nesting"),
    ("land", "huge"),
]
#: Fragments of the hostile documents (and of the machinery) that must never reach the agency.
LEAKS = (
    "root:",
    "/etc/passwd",
    "lol",
    "ENTITY",
    "DOCTYPE",
    "<?xml",
    "Envelope",
    "AAAAAAAA",
    "127.0.0.1",
    "Traceback",
    "lxml",
    "zeep",
)


@pytest.fixture(scope="module")
def registries() -> Iterator[Any]:
    handle = start_sandbox(base_port=0, size=SIZE, seed=SANDBOX_SEED)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path, registries: Any) -> Iterator[Any]:
    with hub_process_on(
        tmp_path_factory.mktemp("hostile"),
        keys_dir,
        registries.urls,
        size=SIZE,
        seed=SANDBOX_SEED,
        registry_timeout=5.0,
    ) as process:
        yield process


def _ask(hub: HubProcess, token: str, registries: Any, registry: str) -> requests.Response:
    citizen = registries.population.citizen(5)
    return requests.post(
        f"{hub.url}/v1/evidence",
        json={
            "citizen": {"afm": citizen.afm},
            "evidence_type": EVIDENCE[registry],
            "purpose": "social-benefit-eligibility",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


@pytest.fixture(scope="module")
def token(hub: HubProcess, keys_dir: Path) -> str:
    return agency_token(hub.url, keys_dir, "opeka")


@pytest.mark.parametrize(("registry", "mode"), CASES, ids=str)
def test_a_hostile_answer_is_refused_quickly_without_a_leak(
    hub: HubProcess, registries: Any, token: str, registry: str, mode: str
) -> None:
    assert _ask(hub, token, registries, registry).status_code == 200
    baseline = hub.reset_peak_memory()
    with HealthMonitor(hub.url) as health:
        registries.set_faults(registry, Faults(hostile=mode, huge_bytes=HUGE))
        try:
            started = time.monotonic()
            response = _ask(hub, token, registries, registry)
            elapsed = time.monotonic() - started
        finally:
            registries.set_faults(registry, None)
        # The registry recovers, and so does the hub's client of it.
        again = _ask(hub, token, registries, registry)
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + "registry-error"
    assert elapsed < MAX_SECONDS, elapsed
    leaked = [fragment for fragment in LEAKS if fragment in response.text]
    assert not leaked, (leaked, response.text)
    assert again.status_code == 200, again.text
    growth = hub.peak_memory() - baseline
    assert growth < MAX_GROWTH, f"the hub's peak memory grew by {growth // 1024} KiB"
    assert not health.failures, health.failures
    assert max(health.latencies, default=0.0) < 1.0, max(health.latencies)
