"""One caller cannot monopolise the hub: certificates are limited, metrics are private.

Certificates: one citizen asks for 60 at once from a real ``hub serve``
process. Each is a PDF rendered and sealed, so the hub limits them per
citizen (429 with ``Retry-After``, counted in the database) and renders them
on a small pool of its own (503 with ``Retry-After`` when it is full), and
``/healthz`` answers under a second throughout. Another citizen is not
affected by the first one's limit.

Metrics: in production ``/metrics`` wants ``HUB_METRICS_TOKEN`` as a bearer
token, or is served only on ``HUB_METRICS_ADDRESS`` (the main port answers
404); without either it is not served at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.app import build_services
from hub.cli._http import start_metrics_listener
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from tests.common.hubs import HealthMonitor
from tests.common.server import free_port, serve_hub
from tests.security._process import ConfiguredHub, hub_process

PARALLEL = 60
LIMIT = 10


def _citizen_token(hub: ConfiguredHub, person: Any) -> str:
    services = build_services(replace(hub.settings, port=hub.port, public_url=hub.url))
    try:
        issued = services.tokens.issue_citizen(person.afm, person.amka, person.full_name)
    finally:
        services.close()
    return issued.access_token


def _issue_many(hub: ConfiguredHub, token: str, count: int) -> list[requests.Response]:
    def issue(_: int) -> requests.Response:
        return requests.post(
            f"{hub.url}/v1/me/certificates",
            json={"type": "birth-certificate"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(issue, range(count)))


def _assert_refusal(response: requests.Response, status: int, slug: str) -> None:
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + slug
    assert int(response.headers["Retry-After"]) >= 1
    assert response.status_code == status


@pytest.fixture
def hub(tmp_path: Path, settings: Settings) -> Iterator[ConfiguredHub]:
    extra = {
        "HUB_CERTIFICATE_RATE_LIMIT": str(LIMIT),
        "HUB_CERTIFICATE_RATE_WINDOW": "3600",
    }
    with hub_process(tmp_path, settings, extra) as process:
        yield process


@pytest.mark.slow
def test_sixty_parallel_issuances_are_limited_and_healthz_stays_fast(
    hub: ConfiguredHub, sandbox: Any
) -> None:
    token = _citizen_token(hub, sandbox.population.citizen(11))
    with HealthMonitor(hub.url) as health:
        answers = _issue_many(hub, token, PARALLEL)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 429, 503}, statuses
    assert 1 <= statuses[201] <= LIMIT, statuses
    assert statuses[429] >= PARALLEL - LIMIT - statuses[503], statuses
    for response in answers:
        if response.status_code == 429:
            _assert_refusal(response, 429, "too-many-requests")
        elif response.status_code == 503:
            _assert_refusal(response, 503, "busy")
    assert not health.failures, health.failures
    assert health.latencies
    print(f"healthz during {PARALLEL} issuances: max {max(health.latencies):.3f} s")
    assert max(health.latencies) < 1.0, max(health.latencies)
    # The limit is the first citizen's: another one is served.
    other = _citizen_token(hub, sandbox.population.citizen(12))
    assert _issue_many(hub, other, 1)[0].status_code == 201


@pytest.mark.slow
def test_a_full_pool_answers_503_with_retry_after(
    tmp_path: Path, settings: Settings, sandbox: Any
) -> None:
    extra = {
        "HUB_CERTIFICATE_RATE_LIMIT": "1000",
        "HUB_CERTIFICATE_WORKERS": "1",
        "HUB_CERTIFICATE_QUEUE": "0",
    }
    with hub_process(tmp_path, settings, extra) as hub:
        token = _citizen_token(hub, sandbox.population.citizen(13))
        answers = _issue_many(hub, token, 12)
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[201] >= 1, statuses
    assert statuses[503] >= 1, statuses
    for response in answers:
        if response.status_code == 503:
            _assert_refusal(response, 503, "busy")


# -- metrics --------------------------------------------------------------------------------------

TOKEN = "metrics-token-of-the-operator-0123"


def _production(settings: Settings, **overrides: Any) -> Settings:
    from adapters.sandbox.runner import DEFAULT_CREDENTIALS  # noqa: PLC0415

    # Production wants each registry's credentials named; the sandbox's will do.
    credentials = dict.fromkeys(("population", "social-security"), DEFAULT_CREDENTIALS)
    return replace(settings, env="production", registry_credentials=credentials, **overrides)


def test_production_metrics_want_the_token(settings: Settings) -> None:
    with serve_hub(_production(settings, metrics_token=TOKEN)) as (url, _, _):
        anonymous = requests.get(f"{url}/metrics", timeout=10)
        wrong = requests.get(
            f"{url}/metrics", headers={"Authorization": "Bearer " + "x" * 34}, timeout=10
        )
        right = requests.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
    for refused in (anonymous, wrong):
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "hub_http_requests" not in refused.text
    assert right.status_code == 200
    assert "hub_http_requests" in right.text


def test_production_metrics_on_their_own_address(settings: Settings) -> None:
    port = free_port()
    production = _production(settings, metrics_address=f"127.0.0.1:{port}")
    with serve_hub(production) as (url, services, _):
        listener = start_metrics_listener(services)
        assert listener is not None
        try:
            assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
            public = requests.get(f"{url}/metrics", timeout=10)
            internal = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        finally:
            listener.shutdown()
    assert public.status_code == 404
    assert "hub_http_requests" not in public.text
    assert internal.status_code == 200
    assert "hub_http_requests" in internal.text


def test_production_metrics_without_either_are_not_served(settings: Settings) -> None:
    with serve_hub(_production(settings)) as (url, _, _):
        response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 404
    assert "hub_http_requests" not in response.text


def test_development_metrics_stay_open(hub_url: str) -> None:
    response = requests.get(f"{hub_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "hub_http_requests" in response.text


def test_metrics_settings_are_read_and_checked() -> None:
    env = {"HUB_METRICS_TOKEN": TOKEN, "HUB_METRICS_ADDRESS": "10.0.0.5:9100"}
    settings = Settings.from_env(env)
    assert settings.metrics_token == TOKEN
    assert settings.metrics_listener == ("10.0.0.5", 9100)
    assert TOKEN not in repr(settings)
    from hub.errors import ConfigError  # noqa: PLC0415

    for bad in ({"HUB_METRICS_TOKEN": "short"}, {"HUB_METRICS_ADDRESS": "nowhere"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
