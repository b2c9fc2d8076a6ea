"""A registry that misbehaves on the wire cannot freeze the hub.

The land registry is replaced (``HUB_REGISTRY_URL_LAND``) by a real socket
on 127.0.0.1 (:class:`tests.common.peers.HostilePeer`) that relays to the
real sandbox land registry while healthy and then, one mode per test,
dribbles its headers one byte every half second, accepts and never answers,
sends a body that never ends, resets the connection mid-body, or, over TLS
with a self-signed certificate the hub is told to trust
(``HUB_REGISTRY_CA_FILE``), dribbles its handshake. A read timeout stops
none of the dribbles: each read gets its byte in time.

Against a real hub process with the other two sandbox registries healthy,
40 concurrent property-ownership requests are sent to the bad registry
while other clients keep asking the healthy ones. Throughout:

* every call to the bad registry ends within its deadline plus a margin,
  as a 502/503/504 problem, never a hang or a 500;
* the healthy registries keep answering 200;
* ``/healthz`` answers every poll in under a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.runner import start_sandbox
from hub.errors import PROBLEM_BASE
from tests.common.clients import agency_token
from tests.common.hubs import HealthMonitor, HubProcess, hub_process_on
from tests.common.peers import HostilePeer, Mode, self_signed
from tests.conftest import SANDBOX_SEED

pytestmark = pytest.mark.slow

SIZE = 200
#: The land registry's deadline: HUB_REGISTRY_TIMEOUT caps the catalogue's 3 s.
DEADLINE = 2.0
#: How far past its deadline a call to the bad registry may end (queueing, retries' backoff).
MARGIN = 2.0
CONCURRENT = 40
HEALTHY_CLIENTS = 4
#: An open circuit's pause, short so that each test starts with a closed one.
PAUSE = 1.0


@pytest.fixture(scope="module")
def registries() -> Iterator[Any]:
    handle = start_sandbox(base_port=0, size=SIZE, seed=SANDBOX_SEED)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("peer-tls"))


@pytest.fixture(scope="module")
def peers(registries: Any, tls_files: tuple[Path, Path]) -> Iterator[dict[str, HostilePeer]]:
    upstream = registries.urls["land"]
    with (
        HostilePeer("proxy", upstream=upstream) as plain,
        HostilePeer("proxy", upstream=upstream, tls=tls_files) as tls,
    ):
        yield {"http": plain, "https": tls}


@pytest.fixture(scope="module")
def hubs(
    tmp_path_factory: pytest.TempPathFactory,
    keys_dir: Path,
    registries: Any,
    peers: dict[str, HostilePeer],
    tls_files: tuple[Path, Path],
) -> Iterator[dict[str, HubProcess]]:
    common: dict[str, Any] = {
        "size": SIZE,
        "seed": SANDBOX_SEED,
        "registry_timeout": DEADLINE,
        "registry_breaker_pause": PAUSE,
    }
    with (
        hub_process_on(
            tmp_path_factory.mktemp("hostile-http"),
            keys_dir,
            {**registries.urls, "land": peers["http"].url},
            **common,
        ) as plain,
        hub_process_on(
            tmp_path_factory.mktemp("hostile-https"),
            keys_dir,
            {**registries.urls, "land": peers["https"].url},
            registry_ca_file=tls_files[0],
            **common,
        ) as tls,
    ):
        yield {"http": plain, "https": tls}


def _ask(
    hub: HubProcess, token: str, registries: Any, n: int, evidence_type: str
) -> tuple[int, float, str]:
    citizen = registries.population.citizen(n % SIZE)
    started = time.monotonic()
    response = requests.post(
        f"{hub.url}/v1/evidence",
        json={
            "citizen": {"afm": citizen.afm},
            "evidence_type": evidence_type,
            "purpose": "social-benefit-eligibility",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    elapsed = time.monotonic() - started
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert response.json()["type"].startswith(PROBLEM_BASE), response.text
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1, response.headers
    return response.status_code, elapsed, response.text


def _until_land_answers(hub: HubProcess, token: str, registries: Any) -> None:
    """The relay is healthy again and the land circuit has closed."""
    deadline = time.monotonic() + PAUSE + 15
    while time.monotonic() < deadline:
        if _ask(hub, token, registries, 1, "property-ownership")[0] == 200:
            return
        time.sleep(0.2)
    pytest.fail("the land registry did not come back through the peer")


CASES: list[tuple[str, Mode]] = [
    ("http", "dribble-headers"),
    ("http", "silent"),
    ("http", "endless-body"),
    ("http", "reset-mid-body"),
    ("https", "slow-tls"),
    ("https", "dribble-headers"),
]


@pytest.mark.parametrize(("transport", "mode"), CASES, ids=str)
def test_a_misbehaving_registry_costs_its_deadline_and_nothing_else(
    hubs: dict[str, HubProcess],
    peers: dict[str, HostilePeer],
    registries: Any,
    keys_dir: Path,
    transport: str,
    mode: Mode,
) -> None:
    hub, peer = hubs[transport], peers[transport]
    token = agency_token(hub.url, keys_dir, "opeka")
    peer.set_mode("proxy")
    _until_land_answers(hub, token, registries)

    healthy: list[tuple[int, float, str]] = []
    attack_over = threading.Event()

    def healthy_client(worker: int) -> None:
        n = 0
        while not attack_over.is_set():
            kind = ("family-status", "insurance-status")[(worker + n) % 2]
            healthy.append(_ask(hub, token, registries, worker * 1000 + n, kind))
            n += 1

    peer.set_mode(mode)
    try:
        with (
            HealthMonitor(hub.url) as health,
            ThreadPoolExecutor(HEALTHY_CLIENTS) as others,
            ThreadPoolExecutor(CONCURRENT) as attackers,
        ):
            running = [others.submit(healthy_client, w) for w in range(HEALTHY_CLIENTS)]
            bad = list(
                attackers.map(
                    lambda n: _ask(hub, token, registries, n, "property-ownership"),
                    range(CONCURRENT),
                )
            )
            attack_over.set()
            for future in running:
                future.result()
    finally:
        attack_over.set()
        peer.set_mode("proxy")

    statuses = sorted(status for status, _, _ in bad)
    assert set(statuses) <= {502, 503, 504}, statuses
    slowest = max(elapsed for _, elapsed, _ in bad)
    assert slowest < DEADLINE + MARGIN, (slowest, statuses)
    if mode == "reset-mid-body":
        # A reset is an error at once, not a wait for the deadline.
        assert 504 not in statuses, statuses
    else:
        # The calls that got a slot ran into the deadline; it ended them.
        assert 504 in statuses, statuses
    # The bulkhead and the circuit refused the rest without a wait.
    assert 503 in statuses, statuses

    assert healthy, "no healthy request completed during the attack"
    failed = [(status, text) for status, _, text in healthy if status != 200]
    assert not failed, failed[:3]

    assert not health.failures, health.failures
    assert max(health.latencies) < 1.0, max(health.latencies)
    assert peer.connections > 0
