"""OAuth as an agency's developer meets it: with libraries this project did not write.

Authlib fetches tokens with its ``PrivateKeyJWT`` defaults (assertions valid
for an hour) and reads the RFC 8414 metadata and the RFC 6749 errors;
joserfc, a JWKS-only verifier, checks that an access token verifies with
the token keys named by the metadata and never with the seal keys of
``/.well-known/jwks.json`` (issue 12 §7). Everything runs against a real hub
over HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from adapters.sandbox.idp import start_idp
from hub.auth.agency_keys import load_agency_private_key
from hub.config import Settings
from hub.persistence.db import Database
from hub.persistence.replay import SqlReplayCache
from tests.common.clients import token_request
from tests.common.server import serve_hub

pytestmark = pytest.mark.db

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def hub(settings: Settings) -> Iterator[str]:
    with serve_hub(settings) as (url, _, _):
        yield url


def _metadata(hub_url: str) -> dict[str, Any]:
    response = requests.get(f"{hub_url}/.well-known/oauth-authorization-server", timeout=10)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _agency_key(keys_dir: Path, agency_id: str = "opeka") -> ECKey:
    """The agency's development key as the joserfc key object Authlib needs for ES256."""
    kid, key = load_agency_private_key(keys_dir, agency_id)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ECKey.import_key(pem, {"kid": kid})


def _session(hub_url: str, keys_dir: Path, agency_id: str = "opeka") -> OAuth2Session:
    """An Authlib client set up from the metadata alone, with PrivateKeyJWT's defaults."""
    metadata = _metadata(hub_url)
    session = OAuth2Session(
        agency_id,
        _agency_key(keys_dir, agency_id),
        token_endpoint_auth_method="private_key_jwt",
    )
    # Only the algorithm is chosen (Authlib defaults to RS256); lifetime,
    # jti and claims are Authlib's own.
    session.register_client_auth_method(PrivateKeyJWT(metadata["token_endpoint"], alg="ES256"))
    return session


def test_the_metadata_is_rfc_8414_and_names_the_token_keys(hub: str) -> None:
    metadata = _metadata(hub)
    checked = AuthorizationServerMetadata(metadata)
    # Every member a client-credentials server has, as Authlib checks it
    # (there is no authorization endpoint, so no response type to list).
    for name in (
        "issuer",
        "token_endpoint",
        "jwks_uri",
        "scopes_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "service_documentation",
    ):
        getattr(checked, f"validate_{name}")()
    assert metadata["response_types_supported"] == []
    assert metadata["issuer"] == hub
    assert metadata["token_endpoint"] == f"{hub}/oauth2/token"
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {
        "ES256",
        "EdDSA",
    }
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert metadata["jwks_uri"] == f"{hub}/oauth2/jwks.json"
    assert "social-benefit-eligibility" in metadata["scopes_supported"]
    assert metadata["client_assertion_max_lifetime"] == 3600


def test_authlib_with_its_defaults_gets_a_token_that_serves_evidence(
    hub: str, keys_dir: Path, sandbox: Any
) -> None:
    session = _session(hub, keys_dir)
    token = session.fetch_token(_metadata(hub)["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    # The assertion Authlib sent lived an hour, longer than the hub once allowed.
    response = session.post(
        f"{hub}/v1/evidence",
        json={
            "citizen": {"afm": sandbox.population.citizen(11).afm},
            "evidence_type": "family-status",
            "purpose": "social-benefit-eligibility",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["evidence_type"] == "family-status"


def test_authlib_shows_the_precise_error(hub: str, keys_dir: Path) -> None:
    # The bank's key signing for opeka: the hub answers invalid_client and says why.
    session = OAuth2Session(
        "opeka", _agency_key(keys_dir, "bank-demo"), token_endpoint_auth_method="private_key_jwt"
    )
    session.register_client_auth_method(PrivateKeyJWT(f"{hub}/oauth2/token", alg="ES256"))
    with pytest.raises(OAuthError) as caught:
        session.fetch_token(f"{hub}/oauth2/token", grant_type="client_credentials")
    assert caught.value.error == "invalid_client"
    assert "signature does not verify" in str(caught.value.description)
    # An HMAC-labelled assertion is refused by its algorithm, in words a developer reads.
    kid, key = load_agency_private_key(keys_dir, "opeka")
    forged = jwt.encode(
        {"iss": "opeka", "sub": "opeka", "aud": f"{hub}/oauth2/token"}, key, algorithm="ES256"
    )
    _, payload, signature = forged.split(".")
    hmac = requests.post(
        f"{hub}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": f"{_b64({'alg': 'HS256', 'kid': kid})}.{payload}.{signature}",
        },
        timeout=10,
    )
    assert hmac.json()["error_description"] == (
        "Client assertions must be signed with ES256 or EdDSA."
    )


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _assertion(hub_url: str, keys_dir: Path, **changes: Any) -> str:
    kid, key = load_agency_private_key(keys_dir, "opeka")
    now = int(time.time())
    claims = {
        "iss": "opeka",
        "sub": "opeka",
        "aud": f"{hub_url}/oauth2/token",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        **changes,
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def _error(response: requests.Response, error: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    return body


def test_token_errors_follow_rfc_6749(hub: str, keys_dir: Path) -> None:
    endpoint = f"{hub}/oauth2/token"
    good = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": _assertion(hub, keys_dir),
    }
    wrong_grant = {**good, "grant_type": "authorization_code"}
    _error(requests.post(endpoint, data=wrong_grant, timeout=10), "unsupported_grant_type")
    missing = {k: v for k, v in good.items() if k != "grant_type"}
    _error(requests.post(endpoint, data=missing, timeout=10), "invalid_request")
    wrong_type = {**good, "client_assertion_type": "urn:example:saml"}
    _error(requests.post(endpoint, data=wrong_type, timeout=10), "invalid_client")
    not_form = requests.post(endpoint, json=good, timeout=10)
    assert not_form.status_code == 415
    assert not_form.json()["error"] == "invalid_request"
    other_client = {**good, "client_id": "bank-demo"}
    _error(requests.post(endpoint, data=other_client, timeout=10), "invalid_client")
    too_long = _assertion(hub, keys_dir, exp=int(time.time()) + 3700)
    body = _error(token_request(hub, too_long), "invalid_client")
    assert "3600 seconds" in body["error_description"]
    scoped = {**good, "client_assertion": _assertion(hub, keys_dir), "scope": "tax-audit"}
    _error(requests.post(endpoint, data=scoped, timeout=10), "invalid_scope")
    # None of the refusals spent the good assertion's jti: it still gets a token.
    assert requests.post(endpoint, data=good, timeout=10).status_code == 200


def test_a_requested_scope_narrows_the_token(hub: str, keys_dir: Path) -> None:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": _assertion(hub, keys_dir),
        "scope": "social-benefit-eligibility",
        "client_id": "opeka",
    }
    response = requests.post(f"{hub}/oauth2/token", data=data, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "social-benefit-eligibility"


def test_an_hour_long_assertion_cannot_be_replayed_late_in_its_life(
    hub: str, settings: Settings
) -> None:
    # The jti of an assertion valid for an hour stays in the replay cache until
    # it expires, even while the sweep removes other, expired rows.
    db = Database(settings.database_url)
    try:
        cache = SqlReplayCache(db)
        now = dt.datetime.now(dt.UTC)
        jti = uuid.uuid4().hex
        assert cache.remember("opeka", jti, now + dt.timedelta(seconds=3630))
        assert cache.remember("opeka", uuid.uuid4().hex, now - dt.timedelta(seconds=1))
        # Another insert sweeps the expired row; the hour-long one is still there.
        assert cache.remember("opeka", uuid.uuid4().hex, now + dt.timedelta(seconds=60))
        assert not cache.remember("opeka", jti, now + dt.timedelta(seconds=3630))
    finally:
        db.dispose()


def _keyset(url: str) -> KeySet:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


def test_an_access_token_verifies_with_the_token_keys_never_the_seal_keys(
    hub: str, keys_dir: Path
) -> None:
    session = _session(hub, keys_dir)
    token = session.fetch_token(f"{hub}/oauth2/token", grant_type="client_credentials")
    access = token["access_token"]
    header = jwt.get_unverified_header(access)
    # Tokens are verified by kid; an x5c chain would only bloat every request.
    assert "x5c" not in header
    seal_keys = _keyset(f"{hub}/.well-known/jwks.json")
    assert seal_keys.keys, "the seal keys are published"
    assert all("x5c" in key.as_dict() for key in seal_keys.keys)
    with pytest.raises((JoseError, ValueError)):
        jws.deserialize_compact(access, seal_keys, algorithms=["ES256"])
    token_keys = _keyset(_metadata(hub)["jwks_uri"])
    verified = jws.deserialize_compact(access, token_keys, algorithms=["ES256"])
    assert json.loads(verified.payload)["sub"] == "opeka"
    seal_kids = {key.kid for key in seal_keys.keys}
    assert seal_kids.isdisjoint({key.kid for key in token_keys.keys})


def test_the_sandbox_identity_provider_publishes_openid_discovery() -> None:
    with start_idp(size=50) as idp:
        response = requests.get(f"{idp.url}/.well-known/openid-configuration", timeout=10)
        assert response.status_code == 200
        document = response.json()
        checked = OpenIDProviderMetadata(document)
        # OpenID Connect Discovery 1.0 §3, as Authlib checks it. (It also
        # wants RS256 among the ID token algorithms; the sandbox signs ES256.)
        for name in (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "scopes_supported",
            "claims_supported",
        ):
            getattr(checked, f"validate_{name}")()
        assert document["issuer"] == idp.url
        keys = requests.get(document["jwks_uri"], timeout=10)
        assert KeySet.import_key_set(keys.json()).keys
