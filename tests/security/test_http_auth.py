"""Credential attacks over real HTTP: every forged or misplaced token is refused.

``test_auth_attacks`` drives the token service directly; this module sends
the same attacks to a running hub, so the wiring (connexion's security
handlers, the token endpoint, the replay cache in the database) is under test
too. Forged access tokens are signed with the hub's own token key where the
attack needs a valid signature (expired, not yet valid, wrong audience or
issuer, oversized), so only the check under test can refuse them.

Every token kind is also tried on every operation of the other kinds —
citizen tokens on agency routes and the reverse, agency and citizen tokens on
auditor routes — and each answer must be a 401/403 problem document. After
all of it the access log holds no evidence served; the genuine token, sent
last with the same body, is served, so the attacks failed for the right
reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.app import Services, build_services
from hub.auth.agency_keys import load_agency_private_key
from hub.auth.service import ACCESS_AUDIENCE
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.config import Settings
from hub.errors import PROBLEM_BASE
from tests.common.clients import token_request
from tests.security._spec import PATH_VALUES
from tests.security.conftest import Tokens, hub_settings

SPEC = Path(__file__).resolve().parents[2] / "specs" / "hub.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
SCHEMES = ("agencyToken", "citizenToken", "auditorToken")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _protected_operations() -> list[tuple[str, str, str]]:
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    found = []
    for path, item in paths.items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            # Alternatives name the same kind of token (agencyBearer is an
            # agencyToken pasted by hand), so the first requirement says which.
            for requirement in operation.get("security", [])[:1]:
                for scheme in requirement:
                    found.append((method.upper(), path, scheme))
    return found


PROTECTED = _protected_operations()


@pytest.fixture
def hub_services(settings: Settings, hub_url: str) -> Iterator[Services]:
    """The running hub's keys and settings, for forging with its own key."""
    services = build_services(hub_settings(settings, hub_url))
    yield services
    services.close()


@pytest.fixture
def evidence_body(sandbox: Any) -> dict[str, Any]:
    return {
        "citizen": {"afm": sandbox.population.citizen(11).afm},
        "evidence_type": "family-status",
        "purpose": "social-benefit-eligibility",
    }


def _assert_refused(response: requests.Response, statuses: tuple[int, ...] = (401,)) -> None:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].startswith(PROBLEM_BASE)
    assert set(problem) <= {"type", "title", "status", "detail", "instance", "request_id"}


def _assert_token_refused(response: requests.Response, error: str = "invalid_client") -> None:
    """A token endpoint refusal: RFC 6749 §5.2 JSON (``error``) that is also a problem."""
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    assert body["type"].startswith(PROBLEM_BASE)


def _served_evidence(hub_url: str, tokens: Tokens) -> list[dict[str, Any]]:
    response = requests.get(
        f"{hub_url}/v1/audit/entries",
        params={"action": "evidence.request", "outcome": "granted"},
        headers={"Authorization": f"Bearer {tokens.auditor}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# -- forged access tokens on the evidence route ----------------------------------------------


def _forgeries(services: Services, genuine: str) -> dict[str, str]:
    assert services.keystore is not None
    keys = KeyStoreTokenKeys(services.keystore)
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = header["kid"]
    now = int(time.time())
    public_pem = keys.verification_key(kid).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    stranger = ec.generate_private_key(ec.SECP256R1())

    def resigned(**changes: Any) -> str:
        return keys.sign_jwt({**claims, "jti": uuid.uuid4().hex, **changes}, typ="at+jwt")

    return {
        "alg-none": _compact({**header, "alg": "none"}, claims, lambda _: b""),
        "alg-None": _compact({**header, "alg": "None"}, claims, lambda _: b""),
        "hs256-with-public-key": _compact(
            {**header, "alg": "HS256"},
            claims,
            lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
        ),
        "expired": resigned(iat=now - 1200, nbf=now - 1200, exp=now - 600),
        "not-yet-valid": resigned(iat=now, nbf=now + 600, exp=now + 900),
        "wrong-audience": resigned(aud="somebody-else"),
        "auditor-audience": resigned(aud="oncehub-audit"),
        "wrong-issuer": resigned(iss="https://hub.attacker.example"),
        "unknown-kid": jwt.encode(
            claims, stranger, algorithm="ES256", headers={"kid": "no-such-key", "typ": "at+jwt"}
        ),
        "strangers-key-with-our-kid": jwt.encode(
            claims, stranger, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}
        ),
        "tampered-scope": genuine.split(".", maxsplit=1)[0]
        + "."
        + _b64(json.dumps({**claims, "sub": "bank-demo"}).encode())
        + "."
        + genuine.split(".")[2],
        "oversized": resigned(padding="x" * 9000),
        "citizen-use": resigned(token_use="citizen"),
    }


FORGERIES = [
    "alg-none",
    "alg-None",
    "hs256-with-public-key",
    "expired",
    "not-yet-valid",
    "wrong-audience",
    "auditor-audience",
    "wrong-issuer",
    "unknown-kid",
    "strangers-key-with-our-kid",
    "tampered-scope",
    "oversized",
    "citizen-use",
]


def test_forged_access_tokens_are_refused_and_serve_nothing(
    hub_url: str, hub_services: Services, tokens: Tokens, evidence_body: dict[str, Any]
) -> None:
    forged = _forgeries(hub_services, tokens.agency)
    assert sorted(forged) == sorted(FORGERIES)
    assert jwt.decode(tokens.agency, options={"verify_signature": False})["aud"] == ACCESS_AUDIENCE
    for name, token in forged.items():
        response = requests.post(
            f"{hub_url}/v1/evidence",
            json=evidence_body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        _assert_refused(response)
        assert tokens.citizen_afm not in response.text, name
    assert _served_evidence(hub_url, tokens) == []
    # The genuine token with the same body is served: the forgeries failed on their forgery.
    genuine = requests.post(
        f"{hub_url}/v1/evidence",
        json=evidence_body,
        headers={"Authorization": f"Bearer {tokens.agency}"},
        timeout=30,
    )
    assert genuine.status_code == 200, genuine.text
    assert len(_served_evidence(hub_url, tokens)) == 1


# -- attacks on the token endpoint ------------------------------------------------------------


def _assertion(hub_url: str, key: Any, kid: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "opeka",
        "sub": "opeka",
        "aud": f"{hub_url}/oauth2/token",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **changes,
    }
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None},
        key,
        algorithm="ES256",
        headers={"kid": kid},
    )


def test_forged_client_assertions_get_no_token(hub_url: str, keys_dir: Path) -> None:
    kid, key = load_agency_private_key(keys_dir, "opeka")
    other_kid, other_key = load_agency_private_key(keys_dir, "bank-demo")
    now = int(time.time())
    good_claims = jwt.decode(_assertion(hub_url, key, kid), options={"verify_signature": False})
    attacks = {
        "alg-none": _compact({"alg": "none", "kid": kid}, good_claims, lambda _: b""),
        "hs256-with-agency-public-key": _compact(
            {"alg": "HS256", "kid": kid},
            good_claims,
            lambda data: hmac.new(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
                data,
                hashlib.sha256,
            ).digest(),
        ),
        "expired": _assertion(hub_url, key, kid, iat=now - 600, exp=now - 300),
        "not-yet-valid": _assertion(hub_url, key, kid, nbf=now + 600, exp=now + 660),
        "wrong-audience": _assertion(hub_url, key, kid, aud="https://another.hub/oauth2/token"),
        "iss-not-sub": _assertion(hub_url, key, kid, iss="bank-demo"),
        "unknown-kid": _assertion(hub_url, key, "no-such-kid"),
        "another-agencys-key": _assertion(hub_url, other_key, other_kid),
        "another-agencys-key-with-our-kid": _assertion(hub_url, other_key, kid),
        "oversized": _assertion(hub_url, key, kid, padding="x" * 9000),
    }
    for name, assertion in attacks.items():
        response = token_request(hub_url, assertion)
        # Beyond the spec's maxLength the request itself is malformed.
        _assert_token_refused(
            response, "invalid_request" if name == "oversized" else "invalid_client"
        )
        assert "access_token" not in response.text, name
    # The same agency with a fresh, honest assertion gets a token.
    assert token_request(hub_url, _assertion(hub_url, key, kid)).status_code == 200


def test_a_replayed_client_assertion_gets_no_second_token(hub_url: str, keys_dir: Path) -> None:
    kid, key = load_agency_private_key(keys_dir, "opeka")
    assertion = _assertion(hub_url, key, kid)
    first = token_request(hub_url, assertion)
    assert first.status_code == 200, first.text
    _assert_token_refused(token_request(hub_url, assertion))


# -- each kind of token on the routes of the other kinds ----------------------------------------


def _call(hub_url: str, method: str, path: str, token: str) -> requests.Response:
    concrete = path.format(**PATH_VALUES)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return requests.request(
        method,
        f"{hub_url}{concrete}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_every_protected_operation_refuses_the_other_kinds_of_token(
    hub_url: str, tokens: Tokens
) -> None:
    by_scheme = tokens.for_scheme()
    assert {scheme for _, _, scheme in PROTECTED} == set(SCHEMES)
    tried = 0
    for method, path, scheme in PROTECTED:
        for other, token in by_scheme.items():
            if other == scheme:
                continue
            response = _call(hub_url, method, path, token)
            _assert_refused(response, (401, 403))
            assert tokens.citizen_afm not in response.text, (method, path, other)
            tried += 1
    assert tried == 2 * len(PROTECTED)
    assert _served_evidence(hub_url, tokens) == []


@pytest.mark.parametrize(
    ("path", "scheme"),
    [
        ("/v1/audit/checkpoints", "auditorToken"),
        ("/v1/me/consents", "citizenToken"),
        ("/v1/me/access-log", "citizenToken"),
    ],
)
def test_the_right_token_passes_the_same_check(
    hub_url: str, tokens: Tokens, path: str, scheme: str
) -> None:
    # The control: the refusals above are about the token kind, not the route.
    response = _call(hub_url, "GET", path, tokens.for_scheme()[scheme])
    assert response.status_code == 200, response.text
