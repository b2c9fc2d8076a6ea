"""A hub without keys runs, and whatever needs a key answers 503 with the reason.

Every service is always wired (hub/services.py): the ones that need the key
store are disabled stand-ins, so the API answers a problem+json 503 naming the
missing keys, the pages still render, and readiness says what to run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import requests

from hub.config import Settings
from hub.services import disabled, unavailable_reason
from tests.common.server import serve_hub

PROBLEM = "application/problem+json"


@pytest.fixture
def keyless_hub(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-keys"
    empty.mkdir()
    with serve_hub(replace(settings, keys_dir=empty)) as (url, services, _settings):
        yield url, services


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "hub keys init" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/v1/trust/certificates.pem"),
        ("GET", "/v1/verify/7KQ2-M9XD-4TZB-P0HC"),
        ("GET", "/v1/audit/log-key"),
    ],
)
def test_what_needs_keys_answers_503_with_the_reason(
    keyless_hub: tuple[str, object], method: str, path: str
) -> None:
    url, _ = keyless_hub
    _assert_unavailable(requests.request(method, url + path, timeout=10))


def test_the_token_endpoint_says_the_keys_are_missing(keyless_hub: tuple[str, object]) -> None:
    url, _ = keyless_hub
    response = requests.post(
        f"{url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "a.b.c",
        },
        timeout=10,
    )
    # The token endpoint answers in RFC 6749 §5.2 form: plain JSON with an
    # OAuth error code beside the problem members.
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert "hub keys init" in body["error_description"]


def test_pages_render_and_readiness_names_the_fix(keyless_hub: tuple[str, object]) -> None:
    url, services = keyless_hub
    assert requests.get(f"{url}/verify", timeout=10).status_code == 200
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 503
    keys = ready.json()["checks"]["keys"]
    assert keys["ok"] is False
    assert "hub keys init" in keys["detail"]
    assert unavailable_reason(services.certificates) is not None  # type: ignore[attr-defined]


def test_a_disabled_service_refuses_every_use() -> None:
    from hub.certificates.service import CertificateService  # noqa: PLC0415
    from hub.errors import ServiceUnavailable  # noqa: PLC0415

    service = disabled(CertificateService, "no seal key")
    assert unavailable_reason(service) == "no seal key"
    with pytest.raises(ServiceUnavailable, match="no seal key"):
        service.verify_code("X", None, "req")
