"""JSON nested 100,000 levels deep is refused with 400, never a 500.

The parsers recurse once per level, so such a body used to end in a
``RecursionError`` (500) on ``/v1/evidence`` and on the anonymous ``/verify``
upload. The hub now measures nesting before parsing: every operation of the
spec that accepts JSON gets the deep body with the right token and must
answer 400 problem+json ``nesting-too-deep``; the public verification takes
a sealed JWS whose *header* is the deep document; the web ``/verify`` form
takes it as an uploaded ``.json`` file (an agency's saved answer) and as a
JWS file. Each time the hub keeps serving, and a document at the limit is
not refused for its depth.
"""

from __future__ import annotations

import base64

import pytest
import requests

from hub.errors import PROBLEM_BASE
from hub.json_depth import MAX_DEPTH, too_deep
from tests.common.browser import Browser
from tests.security._spec import Operation, operations
from tests.security.conftest import Tokens

DEEP = b"[" * 100_000
JSON_OPERATIONS = [op for op in operations() if op.accepts_json]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assert_too_deep(response: requests.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM_BASE + "nesting-too-deep"


def test_the_spec_has_json_operations() -> None:
    # The walk below must cover something: the evidence exchange at least.
    assert ("POST", "/v1/evidence") in {(op.method, op.path) for op in JSON_OPERATIONS}


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=str)
@pytest.mark.parametrize("body", [DEEP, b'{"a":' * 50_000, b"[" * (MAX_DEPTH + 1) + b"]" * 65])
def test_every_json_operation_refuses_deep_nesting(
    hub_url: str, tokens: Tokens, operation: Operation, body: bytes
) -> None:
    headers = {"Content-Type": "application/json", **operation.headers(tokens.for_scheme())}
    response = requests.request(
        operation.method, hub_url + operation.url_path, data=body, headers=headers, timeout=30
    )
    _assert_too_deep(response)
    assert requests.get(f"{hub_url}/healthz", timeout=5).status_code == 200


def test_a_document_at_the_limit_is_not_refused_for_its_depth(hub_url: str, tokens: Tokens) -> None:
    body = b'{"citizen": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert not too_deep(body)
    response = requests.post(
        f"{hub_url}/v1/evidence",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {tokens.agency}"},
        timeout=30,
    )
    # Schema validation refuses it, for its content rather than its depth.
    assert response.status_code == 400, response.text
    assert response.json()["type"] != PROBLEM_BASE + "nesting-too-deep"


def test_a_sealed_document_with_a_deep_header_is_reported_not_a_500(hub_url: str) -> None:
    jws = f"{_b64(DEEP)}.{_b64(b'{}')}.{_b64(b'signature')}".encode()
    response = requests.post(
        f"{hub_url}/v1/verify", data=jws, headers={"Content-Type": "application/jose"}, timeout=30
    )
    assert response.status_code < 500, response.text[:300]
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["status"] == "invalid"
    assert requests.get(f"{hub_url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("name", "content", "media", "status"),
    [
        ("answer.json", b'{"seal": ' + DEEP, "application/json", 400),
        ("answer.json", b"{" + b'"a":{' * 50_000, "application/octet-stream", 400),
        # Not JSON as a file: verified as a seal, whose header is reported unreadable.
        ("seal.jws", f"{_b64(DEEP)}.{_b64(b'{}')}.{_b64(b'x')}".encode(), "application/jose", 200),
    ],
    ids=["deep-answer", "deep-object", "deep-jws-header"],
)
def test_the_verify_page_refuses_a_deep_upload(
    hub_url: str, name: str, content: bytes, media: str, status: int
) -> None:
    browser = Browser(hub_url)
    response = browser.post("/verify", files={"document": (name, content, media)})
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert requests.get(f"{hub_url}/healthz", timeout=5).status_code == 200
