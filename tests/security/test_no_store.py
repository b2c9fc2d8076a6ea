"""Answers that carry personal data or a token are never stored by a cache.

Every operation of the published spec is called with the token of its
security scheme — the personal ones with real data behind them (an evidence
answer, an issued certificate, the citizen's consents and history, the
auditor's entries, an access token) — and every answer, whatever its status,
must say ``Cache-Control: no-store``. Only the public trust documents (JWKS,
CA chain, CRL) may be cached, and they must say so explicitly. The web
pages answer the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from hub.auth.agency_keys import load_agency_private_key
from hub.cli.token import client_assertion
from tests.common.clients import token_request
from tests.security._spec import PATH_VALUES, operations
from tests.security.conftest import Tokens

#: Public documents that carry no personal data and may be cached, by design.
CACHEABLE = {
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/v1/trust/certificates.pem"),
    ("GET", "/v1/trust/crl"),
    ("GET", "/pki/{name}"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/oauth2/jwks.json"),
    ("GET", "/v1/audit/log-keys"),
    ("GET", "/v1/catalog/evidence-types"),
}
#: Bodies that make the personal operations answer with real data.
EVIDENCE = {"evidence_type": "family-status", "purpose": "social-benefit-eligibility"}
#: Operations that must have answered with their data (2xx), not an error.
MUST_SUCCEED = {
    ("POST", "/oauth2/token"),
    ("POST", "/v1/evidence"),
    ("POST", "/v1/me/certificates"),
    ("GET", "/v1/me/certificates"),
    ("GET", "/v1/me/certificates/{code}/pdf"),
    ("GET", "/v1/me/consents"),
    ("GET", "/v1/me/consent-requests"),
    ("GET", "/v1/audit/entries"),
    ("GET", "/v1/audit/entries/{index}"),
}


def _no_store(response: requests.Response) -> bool:
    directives = {d.strip().lower() for d in response.headers.get("Cache-Control", "").split(",")}
    return "no-store" in directives


def _body(method: str, path: str, tokens: Tokens) -> dict[str, Any]:
    if path == "/v1/evidence":
        return {"json": {"citizen": {"afm": tokens.citizen_afm}, **EVIDENCE}}
    if path == "/v1/me/certificates" and method == "POST":
        return {"json": {"type": "birth-certificate"}}
    if path == "/v1/verify" and method == "POST":
        return {"data": b"not.a.seal", "headers": {"Content-Type": "application/jose"}}
    if method in ("POST", "PUT", "PATCH"):
        return {"json": {}}
    return {}


def test_every_personal_answer_is_no_store(hub_url: str, tokens: Tokens, keys_dir: Path) -> None:
    kid, key = load_agency_private_key(keys_dir, "opeka")
    token = token_request(hub_url, client_assertion("opeka", f"{hub_url}/oauth2/token", kid, key))
    # Issue first so that the certificate paths name a real certificate.
    ordered = sorted(operations(), key=lambda op: (op.method != "POST", op.path))
    values: dict[str, str] = {}
    answers: dict[tuple[str, str], requests.Response] = {("POST", "/oauth2/token"): token}
    with requests.Session() as session:
        for operation in ordered:
            key_ = (operation.method, operation.path)
            if key_ in answers:
                continue
            kwargs = _body(operation.method, operation.path, tokens)
            headers = {**operation.headers(tokens.for_scheme()), **kwargs.pop("headers", {})}
            path = operation.path.format(**{**PATH_VALUES, **values})
            response = session.request(
                operation.method, hub_url + path, headers=headers, timeout=60, **kwargs
            )
            answers[key_] = response
            if key_ == ("POST", "/v1/me/certificates") and response.status_code == 201:
                values["code"] = response.headers["X-Verification-Code"]

    failed = {
        k: r.status_code for k, r in answers.items() if k in MUST_SUCCEED and r.status_code >= 300
    }
    assert not failed, failed
    cached = sorted(
        f"{m} {p} -> {r.status_code} {r.headers.get('Cache-Control')!r}"
        for (m, p), r in answers.items()
        if (m, p) not in CACHEABLE and not _no_store(r)
    )
    assert not cached, cached
    for operation in CACHEABLE:
        response = answers[operation]
        assert response.status_code == 200, (operation, response.status_code)
        assert "public" in response.headers["Cache-Control"], operation


def test_pages_and_unknown_routes_are_no_store(hub_url: str) -> None:
    for path in ("/verify", "/verify/ABCD-EFGH-JKLM", "/me", "/me/certificates", "/no/such"):
        response = requests.get(hub_url + path, allow_redirects=False, timeout=30)
        assert _no_store(response), (path, response.status_code, response.headers)
