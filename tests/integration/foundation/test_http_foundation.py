"""The foundation over real HTTP: operations endpoints, errors, request ids."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from hub.app import build_services, create_app
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from tests.common.server import serve

PROBLEM = "application/problem+json"


def test_liveness_and_readiness(hub_url: str) -> None:
    assert requests.get(f"{hub_url}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{hub_url}/readyz", timeout=5)
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True


def test_readiness_fails_until_migrations_run(settings: Settings, empty_database_url: str) -> None:
    services = build_services(replace(settings, database_url=empty_database_url))
    with serve(create_app(services=services)) as url:
        response = requests.get(f"{url}/readyz", timeout=5)
    services.close()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["migrations"]["ok"] is False
    assert "hub db upgrade" in checks["migrations"]["detail"]


@pytest.mark.parametrize(
    ("method", "path", "status", "slug"),
    [
        ("GET", "/no/such/route", 404, "not-found"),
        ("DELETE", "/healthz", 405, "method-not-allowed"),
        ("POST", "/readyz", 405, "method-not-allowed"),
    ],
)
def test_framework_errors_are_problems(
    hub_url: str, method: str, path: str, status: int, slug: str
) -> None:
    response = requests.request(method, hub_url + path, timeout=5)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == PROBLEM_BASE + slug
    assert problem["status"] == status
    assert "Traceback" not in response.text


def test_request_id_is_minted_and_the_clients_echoed_beside_it(hub_url: str) -> None:
    # The hub's own id is always the request id; a client's is only echoed.
    kept = requests.get(f"{hub_url}/healthz", headers={"X-Request-ID": "abc-123"}, timeout=5)
    assert len(kept.headers["X-Request-ID"]) == 32
    assert kept.headers["X-Request-ID"] != "abc-123"
    assert kept.headers["X-Client-Request-ID"] == "abc-123"
    minted = requests.get(f"{hub_url}/healthz", timeout=5)
    assert len(minted.headers["X-Request-ID"]) == 32
    assert "X-Client-Request-ID" not in minted.headers
    hostile = requests.get(f"{hub_url}/healthz", headers={"X-Request-ID": "x" * 500}, timeout=5)
    assert hostile.headers["X-Request-ID"] != "x" * 500
    assert "X-Client-Request-ID" not in hostile.headers
    problem = requests.get(f"{hub_url}/nowhere", headers={"X-Request-ID": "r-1"}, timeout=5)
    assert problem.json()["request_id"] == problem.headers["X-Request-ID"] != "r-1"


def test_oversized_body_is_refused_before_it_is_read(settings: Settings) -> None:
    services = build_services(replace(settings, max_body_bytes=2048))
    with serve(create_app(services=services)) as url:
        response = requests.post(f"{url}/healthz", data=b"x" * 4096, timeout=5)
    services.close()
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEM_BASE + "payload-too-large"


def test_metrics_count_requests_by_operation(hub_url: str) -> None:
    requests.get(f"{hub_url}/healthz", timeout=5)
    requests.get(f"{hub_url}/missing", timeout=5)
    text = requests.get(f"{hub_url}/metrics", timeout=5).text
    assert 'hub_http_requests_total{method="GET",route="checkLiveness",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "hub_http_request_duration_seconds_bucket" in text


def test_openapi_document_and_swagger_ui_are_served(hub_url: str) -> None:
    spec = requests.get(f"{hub_url}/openapi.json", timeout=5).json()
    assert spec["openapi"] == "3.1.0"
    assert "/healthz" in spec["paths"]
    ui = requests.get(f"{hub_url}/ui/", timeout=5)
    assert ui.status_code == 200
    assert "swagger" in ui.text.lower()
