"""Registries slow, failing and flapping under concurrent load: the hub holds.

A hub process (``python -m hub serve``, registry timeout one second) serves 16
client threads asking for evidence from all three sandbox registries while
the registries misbehave, changed at run time through the sandbox's fault
injection:

1. *flapping*: the land registry fails half of its calls;
2. *outage*: the land registry answers every call with a server error and
   the social-security registry is slower than the timeout;
3. *recovered*: no faults.

The population registry (which also resolves identities) stays healthy.

Throughout, a monitor polls ``/healthz`` and every answer must come quickly;
every evidence answer is 200 or a 502/503/504 problem document, never a 500
or a dropped connection; the healthy registry keeps answering 200 while the
others fail; the failing registries' circuits open (503 "circuit is open",
counted in ``/metrics``) and, once the faults clear, close again so every
request succeeds. Each phase sends a fixed number of requests; the client's
timeouts bound every wait.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
THREADS = 16
PER_THREAD = 12
#: The registry each evidence type comes from (identity always comes from population).
SOURCES = {
    "family-status": "population",
    "property-ownership": "land",
    "insurance-status": "social-security",
}
ALLOWED = {200, 502, 503, 504}
#: How fast /healthz must answer while the hub is under load and its registries fail.
HEALTH_MAX_SECONDS = 1.5
HEALTH_MEDIAN_SECONDS = 0.2
#: The circuit's pause before it lets a probe through (adapters.resilience.Policy).
RESET_AFTER = 10.0


@dataclass
class Outcome:
    evidence_type: str
    status: int
    problem_type: str | None = None
    detail: str = ""


@pytest.fixture
def registries() -> Iterator[Any]:
    handle = start_sandbox(base_port=0, size=SIZE, seed=SANDBOX_SEED)
    yield handle
    handle.stop()


@pytest.fixture
def hub(tmp_path: Path, keys_dir: Path, registries: Any) -> Iterator[HubProcess]:
    # A SQLite file of the test's own: this suite is about registries, not the database.
    with hub_process_on(
        tmp_path, keys_dir, registries.urls, size=SIZE, seed=SANDBOX_SEED, registry_timeout=1.0
    ) as process:
        yield process


def _ask(url: str, token: str, registries: Any, n: int, evidence_type: str) -> Outcome:
    citizen = registries.population.citizen(n % SIZE)
    response = requests.post(
        f"{url}/v1/evidence",
        json={
            "citizen": {"afm": citizen.afm},
            "evidence_type": evidence_type,
            "purpose": "social-benefit-eligibility",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    if response.status_code == 200:
        return Outcome(evidence_type, 200)
    assert response.headers["content-type"] == "application/problem+json", response.text
    problem = response.json()
    assert problem["type"].startswith(PROBLEM_BASE), problem
    assert problem["status"] == response.status_code, problem
    assert "Traceback" not in response.text
    return Outcome(evidence_type, response.status_code, problem["type"], problem.get("detail", ""))


def _load(url: str, token: str, registries: Any, per_thread: int = PER_THREAD) -> list[Outcome]:
    """``THREADS`` clients, each asking ``per_thread`` times across the three registries."""
    types = list(SOURCES)

    def client(worker: int) -> list[Outcome]:
        return [
            _ask(url, token, registries, worker * 100 + i, types[(worker + i) % len(types)])
            for i in range(per_thread)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        return [o for batch in pool.map(client, range(THREADS)) for o in batch]


def _statuses(outcomes: list[Outcome], evidence_type: str) -> Counter[int]:
    return Counter(o.status for o in outcomes if o.evidence_type == evidence_type)


def _circuit_open(outcomes: list[Outcome], evidence_type: str) -> bool:
    return any(
        o.evidence_type == evidence_type and o.status == 503 and "circuit is open" in o.detail
        for o in outcomes
    )


def test_the_hub_holds_while_registries_fail_and_recovers(
    hub: HubProcess, registries: Any, keys_dir: Path
) -> None:
    token = agency_token(hub.url, keys_dir, "opeka")
    with HealthMonitor(hub.url) as health:
        # 1. Flapping: land fails half its calls.
        registries.set_faults("land", Faults(error_rate=0.5, seed=SANDBOX_SEED))
        flapping = _load(hub.url, token, registries)

        # 2. Outage: land fails every call, social security is slower than the timeout.
        registries.set_faults("land", Faults(error_rate=1.0))
        registries.set_faults("social-security", Faults(latency_ms=2000))
        outage = _load(hub.url, token, registries)

        # 3. Recovered: once the circuits' pause is over, everything answers.
        registries.set_faults("land", None)
        registries.set_faults("social-security", None)
        cleared = time.monotonic()
        recovered: dict[str, float] = {}
        deadline = cleared + RESET_AFTER + 10
        while len(recovered) < len(SOURCES) and time.monotonic() < deadline:
            for n, evidence_type in enumerate(SOURCES):
                if evidence_type not in recovered:
                    outcome = _ask(hub.url, token, registries, n, evidence_type)
                    if outcome.status == 200:
                        recovered[evidence_type] = time.monotonic() - cleared
            time.sleep(0.25)
        after = _load(hub.url, token, registries, per_thread=3)
        metrics = requests.get(f"{hub.url}/metrics", timeout=5).text

    every = flapping + outage + after
    assert {o.status for o in every} <= ALLOWED, Counter(o.status for o in every)
    assert len(every) == THREADS * (2 * PER_THREAD + 3)

    # The healthy registry is untouched by the others' trouble.
    assert _statuses(flapping, "family-status") == {200: len(flapping) // 3}
    assert _statuses(outage, "family-status") == {200: len(outage) // 3}
    # While land flaps its answers are a mix, some served and some refused cleanly.
    land = _statuses(flapping, "property-ownership")
    assert set(land) <= {200, 502, 503}
    assert land[200] >= 1
    assert land[502] + land[503] >= 1
    # The failing registries fail cleanly and their circuits open.
    assert set(_statuses(outage, "property-ownership")) <= {502, 503}
    assert set(_statuses(outage, "insurance-status")) <= {503, 504}
    assert _statuses(outage, "insurance-status")[504] >= 1
    assert _circuit_open(flapping + outage, "property-ownership")
    assert _circuit_open(outage, "insurance-status")
    assert 'hub_registry_calls_total{outcome="circuit-open",registry="land"}' in metrics
    assert 'outcome="circuit-open",registry="social-security"' in metrics

    # After the faults clear the circuits close again, within their pause and a margin.
    assert set(recovered) == set(SOURCES), f"not recovered in time: {recovered}"
    assert all(o.status == 200 for o in after), Counter(o.status for o in after)

    # The hub stayed responsive the whole time.
    assert not health.failures, health.failures
    assert len(health.latencies) > 20
    assert max(health.latencies) < HEALTH_MAX_SECONDS, max(health.latencies)
    assert statistics.median(health.latencies) < HEALTH_MEDIAN_SECONDS
