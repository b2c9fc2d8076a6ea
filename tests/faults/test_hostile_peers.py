"""A registry that misbehaves on the wire cannot freeze the hub.

A registry, the REST land registry or the SOAP social-security registry, is
replaced (``HUB_REGISTRY_URL_<ID>``) by a real socket on 127.0.0.1
(:class:`tests.common.peers.HostilePeer`) that relays to the real sandbox
registry while healthy and then, one mode per test,
dribbles its headers one byte every half second, accepts and never answers,
sends a body that never ends, resets the connection mid-body, or, over TLS
with a self-signed certificate the hub is told to trust
(``HUB_REGISTRY_CA_FILE``), dribbles its handshake. A read timeout stops
none of the dribbles: each read gets its byte in time.

Against a real hub process with the other two sandbox registries healthy,
40 concurrent evidence requests are sent to the bad registry while other
clients keep asking the healthy ones. Throughout:

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
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.runner import start_sandbox
from hub.errors import PROBLEM_BASE
from tests.common.clients import agency_token
from tests.common.hubs import HealthMonitor, HubProcess, hub_process_on
from tests.common.peers import HostilePeer, Mode
from tests.common.tls import self_signed
from tests.conftest import SANDBOX_SEED

pytestmark = pytest.mark.slow

SIZE = 200
#: The registries' deadline: HUB_REGISTRY_TIMEOUT caps the catalogue's 3 s.
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
    return self_signed(tmp_path_factory.mktemp("peer-tls"), "hostile registry", "peer")


#: Where each evidence type comes from; identities always come from population.
EVIDENCE = {
    "land": "property-ownership",
    "social-security": "insurance-status",
    "population": "family-status",
}
#: (transport, the registry that misbehaves): one hub process and one peer each.
SETUPS = [("http", "land"), ("https", "land"), ("http", "social-security")]


@dataclass
class Setup:
    hub: HubProcess
    peer: HostilePeer
    registry: str

    @property
    def healthy(self) -> list[str]:
        return [kind for registry, kind in EVIDENCE.items() if registry != self.registry]


@pytest.fixture(scope="module")
def setups(
    tmp_path_factory: pytest.TempPathFactory,
    keys_dir: Path,
    registries: Any,
    tls_files: tuple[Path, Path],
) -> Iterator[dict[tuple[str, str], Setup]]:
    common: dict[str, Any] = {
        "size": SIZE,
        "seed": SANDBOX_SEED,
        "registry_timeout": DEADLINE,
        "registry_breaker_pause": PAUSE,
    }
    with ExitStack() as stack:
        found: dict[tuple[str, str], Setup] = {}
        for transport, registry in SETUPS:
            tls = tls_files if transport == "https" else None
            peer = stack.enter_context(
                HostilePeer("proxy", upstream=registries.urls[registry], tls=tls)
            )
            hub = stack.enter_context(
                hub_process_on(
                    tmp_path_factory.mktemp(f"hostile-{transport}-{registry}"),
                    keys_dir,
                    {**registries.urls, registry: peer.url},
                    registry_ca_file=tls_files[0] if tls else None,
                    **common,
                )
            )
            found[(transport, registry)] = Setup(hub, peer, registry)
        yield found


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


def _until_it_answers(hub: HubProcess, token: str, registries: Any, evidence_type: str) -> None:
    """The relay is healthy again and the registry's circuit has closed."""
    deadline = time.monotonic() + PAUSE + 15
    while time.monotonic() < deadline:
        if _ask(hub, token, registries, 1, evidence_type)[0] == 200:
            return
        time.sleep(0.2)
    pytest.fail(f"{evidence_type} did not come back through the peer")


CASES: list[tuple[str, str, Mode]] = [
    ("http", "land", "dribble-headers"),
    ("http", "land", "silent"),
    ("http", "land", "endless-body"),
    ("http", "land", "reset-mid-body"),
    ("https", "land", "slow-tls"),
    ("https", "land", "dribble-headers"),
    ("http", "social-security", "dribble-headers"),
    ("http", "social-security", "endless-body"),
]


@pytest.mark.parametrize(("transport", "registry", "mode"), CASES, ids=str)
def test_a_misbehaving_registry_costs_its_deadline_and_nothing_else(
    setups: dict[tuple[str, str], Setup],
    registries: Any,
    keys_dir: Path,
    transport: str,
    registry: str,
    mode: Mode,
) -> None:
    setup = setups[(transport, registry)]
    hub, peer, bad_kind = setup.hub, setup.peer, EVIDENCE[registry]
    token = agency_token(hub.url, keys_dir, "opeka")
    peer.set_mode("proxy")
    _until_it_answers(hub, token, registries, bad_kind)

    healthy: list[tuple[int, float, str]] = []
    attack_over = threading.Event()

    def healthy_client(worker: int) -> None:
        n = 0
        while not attack_over.is_set():
            kind = setup.healthy[(worker + n) % 2]
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
                    lambda n: _ask(hub, token, registries, n, bad_kind),
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
