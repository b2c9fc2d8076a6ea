"""Bounded request bodies on every route, and rate limits on the public endpoints.

Bodies: every operation of the published spec, an unknown route too, gets a
body one byte over ``HUB_MAX_BODY_BYTES`` with the right token for its
security scheme, and must answer 413 problem+json before any handler runs.
Operations that read a body are also sent an over-long body *without* a
``Content-Length`` (chunked): the middleware reads such a body up to the
limit and answers 413 beyond it; within the limit it hands the body on with
its length, so a chunked upload gets the same answer as a plain one. A body
exactly at the limit is not refused for its size.

Rate limits: the public endpoints that do work per request — verification
by code and by upload, and the token endpoint (a signature check and a
replay record each) — answer 429 problem+json with ``Retry-After`` once a
client address spends its window. Every other public operation is listed
with the reason it needs no limit, so a new public endpoint cannot appear
unclassified.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from hub.auth.agency_keys import load_agency_private_key
from hub.cli.token import client_assertion
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from tests.common.clients import token_request
from tests.common.hubs import running_hub
from tests.security._spec import PATH_VALUES
from tests.security.conftest import Tokens

SPEC = Path(__file__).resolve().parents[2] / "specs" / "hub.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
#: The content type each body-taking operation reads.
CONTENT_TYPES = {
    "/oauth2/token": "application/x-www-form-urlencoded",
    "/v1/verify": "application/jose",
}

#: Public operations limited per client address, and those that need no limit.
RATE_LIMITED = {("POST", "/oauth2/token"), ("POST", "/v1/verify"), ("GET", "/v1/verify/{code}")}
UNLIMITED = {
    # Probes of load balancers and monitoring; limiting them would take a busy
    # hub out of rotation. Operators expose them on the internal network only.
    ("GET", "/healthz"): "ops probe",
    ("GET", "/readyz"): "ops probe",
    ("GET", "/metrics"): "ops probe",
    # Small, cacheable public documents read from memory or one indexed row;
    # no signature is checked and nothing is written, so they cost less than
    # counting them would.
    ("GET", "/v1/audit/checkpoint"): "static public document",
    ("GET", "/v1/audit/log-key"): "static public document",
    ("GET", "/.well-known/jwks.json"): "static public document",
    ("GET", "/v1/trust/certificates.pem"): "static public document",
    ("GET", "/v1/trust/crl"): "static public document",
    ("GET", "/.well-known/oauth-authorization-server"): "static public document",
    ("GET", "/oauth2/jwks.json"): "static public document",
    ("GET", "/pki/{name}"): "static public document",
    ("GET", "/v1/audit/log-keys"): "static public document",
    ("GET", "/v1/audit/checkpoint/witnessed"): "static public document",
    ("GET", "/v1/catalog/evidence-types"): "static public document",
    # Checkpoints reveal no personal data; a page is at most 200 indexed rows
    # and a consistency proof O(log n) node reads, less than counting them.
    ("GET", "/v1/audit/checkpoints"): "bounded page of public documents",
    ("GET", "/v1/audit/proofs/consistency"): "logarithmic read of public hashes",
    # A provider's delivery receipt: refused unread unless its HMAC signature
    # checks, which costs less than a database counter.
    ("POST", "/v1/notifications/receipts"): "signed provider callback",
}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    return [(m.upper(), p, item[m]) for p, item in paths.items() for m in METHODS if m in item]


OPERATIONS = _operations()


def _scheme(operation: dict[str, Any]) -> str | None:
    for requirement in operation.get("security", []):
        for scheme in requirement:
            return str(scheme)
    return None


def _headers(tokens: Tokens, operation: dict[str, Any], path: str) -> dict[str, str]:
    headers = {"Content-Type": CONTENT_TYPES.get(path, "application/json")}
    scheme = _scheme(operation)
    if scheme is not None:
        headers["Authorization"] = f"Bearer {tokens.for_scheme()[scheme]}"
    return headers


def _assert_problem(response: requests.Response, status: int, slug: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + slug


# -- bodies ---------------------------------------------------------------------------------------


def test_every_route_refuses_a_body_over_the_limit(
    hub_url: str, tokens: Tokens, settings: Settings
) -> None:
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    assert len(body) == settings.max_body_bytes + 2
    targets = [(m, p, op) for m, p, op in OPERATIONS] + [("POST", "/no/such/route", {})]
    with requests.Session() as session:
        for method, path, operation in targets:
            response = session.request(
                method,
                f"{hub_url}{path.format(**PATH_VALUES)}",
                data=body,
                headers=_headers(tokens, operation, path),
                timeout=30,
            )
            _assert_problem(response, 413, "payload-too-large")
        assert session.get(f"{hub_url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [op for op in OPERATIONS if "requestBody" in op[2]],
    ids=[f"{m} {p}" for m, p, op in OPERATIONS if "requestBody" in op],
)
def test_a_chunked_body_over_the_limit_is_cut_off(
    hub_url: str, tokens: Tokens, settings: Settings, method: str, path: str, operation: Any
) -> None:
    chunk = b" " * 65536
    chunks = settings.max_body_bytes // len(chunk) + 2

    def body() -> Iterator[bytes]:
        yield b"{"
        for _ in range(chunks):
            yield chunk

    response = requests.request(
        method,
        f"{hub_url}{path.format(**PATH_VALUES)}",
        data=body(),
        headers=_headers(tokens, operation, path),
        timeout=30,
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + "payload-too-large"
    assert requests.get(f"{hub_url}/healthz", timeout=5).status_code == 200


def test_a_chunked_upload_gets_the_answer_a_plain_one_gets(hub_url: str) -> None:
    seal = b"eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl"
    headers = {"Content-Type": "application/jose"}

    def chunked() -> Iterator[bytes]:
        yield seal[:10]
        yield seal[10:]

    plain = requests.post(f"{hub_url}/v1/verify", data=seal, headers=headers, timeout=30)
    streamed = requests.post(f"{hub_url}/v1/verify", data=chunked(), headers=headers, timeout=30)
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    # The verifier read the seal (and found it wanting), rather than no body at all.
    assert plain.status_code == streamed.status_code, (plain.text, streamed.text)
    assert "RequestBody is required" not in streamed.text
    strip = ("instance", "request_id")
    assert {k: v for k, v in plain.json().items() if k not in strip} == {
        k: v for k, v in streamed.json().items() if k not in strip
    }


def test_a_body_at_the_limit_is_not_refused_for_its_size(hub_url: str, settings: Settings) -> None:
    # The control: the limit is the configured one, not something smaller.
    body = b"x" * settings.max_body_bytes
    response = requests.post(
        f"{hub_url}/v1/verify",
        data=body,
        headers={"Content-Type": "application/jose"},
        timeout=30,
    )
    assert response.status_code != 413, response.text
    assert response.status_code < 500, response.text


# -- rate limits ----------------------------------------------------------------------------------

LIMIT = 3


@pytest.fixture
def limited_hub(settings: Settings) -> Iterator[str]:
    with running_hub(settings, verify_rate_limit=LIMIT, token_rate_limit=LIMIT) as url:
        yield url


def test_every_public_operation_is_limited_or_says_why_not() -> None:
    # The spec has no global security requirement: no ``security`` is public too.
    public = {(m, p) for m, p, op in OPERATIONS if not op.get("security")}
    assert public == RATE_LIMITED | set(UNLIMITED)


def _assert_limited(response: requests.Response, window: int) -> None:
    _assert_problem(response, 429, "too-many-requests")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window


def test_verification_by_code_is_rate_limited(limited_hub: str, settings: Settings) -> None:
    url = f"{limited_hub}/v1/verify/ABCD-EFGH-JKLM"
    for _ in range(LIMIT):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "unknown"
    _assert_limited(requests.get(url, timeout=10), settings.verify_rate_window)


def test_verification_by_upload_is_rate_limited(limited_hub: str, settings: Settings) -> None:
    def upload() -> requests.Response:
        return requests.post(
            f"{limited_hub}/v1/verify",
            data=b"not.a.jws",
            headers={"Content-Type": "application/jose"},
            timeout=10,
        )

    for _ in range(LIMIT):
        assert upload().status_code in (200, 400)
    _assert_limited(upload(), settings.verify_rate_window)


def test_the_token_endpoint_is_rate_limited(limited_hub: str, keys_dir: Path) -> None:
    kid, key = load_agency_private_key(keys_dir, "opeka")

    def ask() -> requests.Response:
        assertion = client_assertion("opeka", f"{limited_hub}/oauth2/token", kid, key)
        return token_request(limited_hub, assertion)

    for _ in range(LIMIT):
        assert ask().status_code == 200
    # Even an honest assertion waits once the window is spent; the refusal is
    # an RFC 6749 error (and a problem), as every answer of the token endpoint.
    response = ask()
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["type"].endswith("too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "access_token" not in response.text
