"""The registry limits come from ``HUB_REGISTRY_*`` settings and reach each client.

``build_registry_clients`` caps each registry's bulkhead, waits and circuit
by the settings, and refuses bulkheads that together could hold every worker
thread of the server.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hub.catalog.files import load_catalog
from hub.config import Settings
from hub.errors import ConfigError
from hub.evidence.factory import WORKER_THREADS, build_registry_clients
from hub.metrics import Metrics


def test_the_registry_limits_are_read_from_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings = Settings.from_env(
        {
            "HUB_REGISTRY_MAX_IN_FLIGHT": "4",
            "HUB_REGISTRY_QUEUE_WAIT": "0.2",
            "HUB_REGISTRY_BREAKER_FAILURES": "3",
            "HUB_REGISTRY_BREAKER_PAUSE": "2.5",
            "HUB_REGISTRY_CA_FILE": str(ca),
        }
    )
    assert settings.registry_max_in_flight == 4
    assert settings.registry_queue_wait == 0.2
    assert settings.registry_breaker_failures == 3
    assert settings.registry_breaker_pause == 2.5
    assert settings.registry_ca_file == ca


def test_the_defaults_leave_threads_for_everything_else() -> None:
    settings = Settings.from_env({})
    assert settings.registry_max_in_flight * 3 < WORKER_THREADS
    assert settings.registry_queue_wait < 0.1
    assert settings.registry_ca_file is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HUB_REGISTRY_MAX_IN_FLIGHT": "0"}, "HUB_REGISTRY_MAX_IN_FLIGHT"),
        ({"HUB_REGISTRY_MAX_IN_FLIGHT": "many"}, "HUB_REGISTRY_MAX_IN_FLIGHT"),
        ({"HUB_REGISTRY_QUEUE_WAIT": "-1"}, "HUB_REGISTRY_QUEUE_WAIT"),
        ({"HUB_REGISTRY_QUEUE_WAIT": "9", "HUB_REGISTRY_TIMEOUT": "5"}, "HUB_REGISTRY_QUEUE_WAIT"),
        ({"HUB_REGISTRY_BREAKER_FAILURES": "0"}, "HUB_REGISTRY_BREAKER_FAILURES"),
        ({"HUB_REGISTRY_BREAKER_PAUSE": "0"}, "HUB_REGISTRY_BREAKER_PAUSE"),
        ({"HUB_REGISTRY_CA_FILE": "/nonexistent/ca.pem"}, "HUB_REGISTRY_CA_FILE"),
    ],
)
def test_bad_registry_limits_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_each_client_runs_under_the_settings(tmp_path: Path) -> None:
    settings = replace(
        Settings.for_tests(tmp_path),
        registry_timeout=2.0,
        registry_max_in_flight=5,
        registry_queue_wait=0.01,
        registry_breaker_failures=7,
        registry_breaker_pause=3.0,
    )
    loaded = load_catalog(settings.catalog_dir)
    clients = build_registry_clients(settings, loaded, Metrics())
    try:
        assert set(clients) == set(loaded.catalog.registries)
        for client in clients.values():
            policy = client.resilient.policy  # type: ignore[attr-defined]
            assert policy.max_concurrency == 5
            assert policy.timeout == 2.0
            assert policy.queue_timeout == 0.01
            assert policy.failure_threshold == 7
            assert policy.reset_after == 3.0
    finally:
        for client in clients.values():
            client.close()


def test_bulkheads_that_could_take_every_worker_thread_are_refused(tmp_path: Path) -> None:
    settings = replace(Settings.for_tests(tmp_path), registry_max_in_flight=WORKER_THREADS)
    loaded = load_catalog(settings.catalog_dir)
    with pytest.raises(ConfigError, match="HUB_REGISTRY_MAX_IN_FLIGHT"):
        build_registry_clients(settings, loaded, Metrics())
