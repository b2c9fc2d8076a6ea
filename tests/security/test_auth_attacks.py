"""Attacks on agency authentication: forged, replayed and confused tokens.

The hub's token key is the real thing: a development key store made by
``keystore.init`` in a temporary directory, adapted by ``KeyStoreTokenKeys``.
Agencies hold P-256 keys made here. Every attack must end in
:class:`InvalidToken` with a message that says what was wrong, and the hub
must sign nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hub.auth.models import AgencyPrincipal
from hub.auth.ports import ReplayCache, TokenKeys
from hub.auth.service import ACCESS_AUDIENCE, TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.domain.sealing import keystore
from hub.errors import InvalidClient, InvalidToken

ISSUER = "https://hub.test"
TOKEN_ENDPOINT = "https://hub.test/oauth2/token"
PURPOSES = {"opeka": ("social-benefit-eligibility",), "bank-demo": ("mortgage-application",)}


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStoreTokenKeys:
    path: Path = tmp_path_factory.mktemp("hub") / "keys"
    keystore.init(path, None)
    return KeyStoreTokenKeys(keystore.load(path))


@pytest.fixture(scope="module")
def other_hub_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStoreTokenKeys:
    path: Path = tmp_path_factory.mktemp("other-hub") / "keys"
    keystore.init(path, None)
    return KeyStoreTokenKeys(keystore.load(path))


class SpyKeys:
    """The hub's keys, counting what they sign."""

    def __init__(self, keys: TokenKeys) -> None:
        self.keys = keys
        self.signed = 0

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str) -> str:
        self.signed += 1
        return self.keys.sign_jwt(claims, typ=typ)

    def verification_key(self, kid: str) -> Any | None:
        return self.keys.verification_key(kid)

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()


class DictReplayCache:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], dt.datetime] = {}

    def remember(self, issuer: str, jti: str, expires_at: dt.datetime) -> bool:
        if (issuer, jti) in self.seen:
            return False
        self.seen[(issuer, jti)] = expires_at
        return True


class Agency:
    def __init__(self, agency_id: str, kid: str) -> None:
        self.id = agency_id
        self.kid = kid
        self.key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()

    @property
    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


OPEKA = Agency("opeka", "opeka-2025")
BANK = Agency("bank-demo", "bank-2025")


def agency_keys(agency_id: str) -> Mapping[str, Any]:
    return {a.kid: a.public_key for a in (OPEKA, BANK) if a.id == agency_id}


class Hub:
    def __init__(self, keys: TokenKeys, *, issuer: str = ISSUER, **options: Any) -> None:
        self.keys = SpyKeys(keys)
        self.replay = DictReplayCache()
        self.service = TokenService(
            issuer=issuer,
            token_endpoint=TOKEN_ENDPOINT,
            agency_keys=agency_keys,
            agency_purposes=lambda agency_id: PURPOSES.get(agency_id, ()),
            keys=self.keys,
            replay=self.replay,
            **options,
        )


@pytest.fixture
def hub(hub_keys: KeyStoreTokenKeys) -> Hub:
    return Hub(hub_keys)


def test_the_fakes_implement_the_ports(hub: Hub) -> None:
    assert isinstance(hub.replay, ReplayCache)
    assert isinstance(hub.keys, TokenKeys)


# -- helpers ---------------------------------------------------------------------------------------


def now() -> int:
    return int(time.time())


def claims(agency: Agency = OPEKA, **changes: Any) -> dict[str, Any]:
    issued = now()
    base: dict[str, Any] = {
        "iss": agency.id,
        "sub": agency.id,
        "aud": TOKEN_ENDPOINT,
        "iat": issued,
        "exp": issued + 120,
        "jti": uuid.uuid4().hex,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def assertion(
    agency: Agency = OPEKA, *, key: Any = None, kid: str | None = "same", **changes: Any
) -> str:
    headers = {"kid": agency.kid if kid == "same" else kid} if kid is not None else {}
    return jwt.encode(
        claims(agency, **changes), key or agency.key, algorithm="ES256", headers=headers
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes = b"") -> str:
    return (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    )


def refused(hub: Hub, token: str, message: str) -> InvalidClient:
    with pytest.raises(InvalidClient, match=message) as caught:
        hub.service.exchange(token)
    # RFC 7523 §3.2: a client assertion that does not verify is invalid_client.
    assert caught.value.status == 400
    assert caught.value.oauth_error == "invalid_client"
    assert hub.keys.signed == 0, "no access token may be issued"
    return caught.value


# -- the happy path, so that every refusal below is a refusal of something that works -----------


def test_a_good_assertion_gets_an_access_token(hub: Hub) -> None:
    issued = hub.service.exchange(assertion())
    assert issued.token_type == "Bearer"
    assert issued.scope == "social-benefit-eligibility"
    assert hub.keys.signed == 1
    principal = hub.service.verify_access_token(issued.access_token)
    assert principal.agency_id == "opeka"
    assert principal.purposes == ("social-benefit-eligibility",)
    header = jwt.get_unverified_header(issued.access_token)
    assert header["alg"] == "ES256"
    assert header["typ"] == "at+jwt"


def test_a_good_assertion_without_kid_is_tried_against_the_agency_keys(hub: Hub) -> None:
    assert hub.service.exchange(assertion(kid=None)).access_token


# -- client assertions ----------------------------------------------------------------------------


def test_alg_none_is_refused(hub: Hub) -> None:
    token = forge({"alg": "none", "typ": "JWT", "kid": OPEKA.kid}, claims())
    refused(hub, token, "ES256 or EdDSA")


@pytest.mark.parametrize("alg", ["None", "NONE", "nOnE"])
def test_alg_none_in_any_case_is_refused(hub: Hub, alg: str) -> None:
    refused(hub, forge({"alg": alg, "kid": OPEKA.kid}, claims()), "ES256 or EdDSA")


def test_hs256_keyed_with_the_agency_public_key_is_refused(hub: Hub) -> None:
    # The classic algorithm confusion: the attacker knows the public key and
    # uses it as an HMAC secret, hoping the verifier does the same.
    header = {"alg": "HS256", "typ": "JWT", "kid": OPEKA.kid}
    payload = claims()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(OPEKA.public_pem, signing_input.encode(), hashlib.sha256).digest()
    refused(hub, f"{signing_input}.{b64(mac)}", "ES256 or EdDSA")


def test_eddsa_header_over_an_ec_key_is_refused(hub: Hub) -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    token = jwt.encode(claims(), other, algorithm="EdDSA", headers={"kid": OPEKA.kid})
    refused(hub, token, "not valid|does not verify")


def test_an_expired_assertion_is_refused(hub: Hub) -> None:
    refused(hub, assertion(iat=now() - 400, exp=now() - 100), "expired")


def test_an_assertion_valid_only_later_is_refused(hub: Hub) -> None:
    refused(hub, assertion(nbf=now() + 120, exp=now() + 240), "not valid yet")


def test_an_assertion_issued_in_the_future_is_refused(hub: Hub) -> None:
    refused(hub, assertion(iat=now() + 120, exp=now() + 240), "not valid yet")


@pytest.mark.parametrize(
    "audience", ["https://hub.test/", "https://evil.test/oauth2/token", ACCESS_AUDIENCE]
)
def test_an_assertion_for_another_audience_is_refused(hub: Hub, audience: str) -> None:
    refused(hub, assertion(aud=audience), "addressed to the token endpoint")


def test_iss_different_from_sub_is_refused(hub: Hub) -> None:
    refused(hub, assertion(sub="bank-demo"), "iss and sub")


def test_a_missing_iss_is_refused(hub: Hub) -> None:
    refused(hub, assertion(iss=None), "iss and sub")


def test_an_unknown_agency_is_refused(hub: Hub) -> None:
    stranger = Agency("ministry-of-truth", "mot-1")
    refused(hub, assertion(stranger), "unknown agency")


def test_an_unknown_kid_is_refused(hub: Hub) -> None:
    refused(hub, assertion(kid="opeka-1999"), "key id is not registered")


def test_another_agencys_key_is_refused(hub: Hub) -> None:
    # The bank signs an assertion claiming to be OPEKA, with and without its kid.
    refused(hub, assertion(OPEKA, key=BANK.key, kid=None), "signature does not verify")
    refused(hub, assertion(OPEKA, key=BANK.key, kid=BANK.kid), "key id is not registered")
    refused(hub, assertion(OPEKA, key=BANK.key), "signature does not verify")


def test_a_replayed_assertion_is_refused(hub: Hub) -> None:
    token = assertion()
    hub.service.exchange(token)
    signed = hub.keys.signed
    with pytest.raises(InvalidToken, match="already used"):
        hub.service.exchange(token)
    assert hub.keys.signed == signed


def test_a_replayed_jti_in_a_fresh_assertion_is_refused(hub: Hub) -> None:
    hub.service.exchange(assertion(jti="jti-0123456789"))
    with pytest.raises(InvalidToken, match="already used"):
        hub.service.exchange(assertion(jti="jti-0123456789"))


def test_the_same_jti_from_two_agencies_is_not_a_replay(hub: Hub) -> None:
    hub.service.exchange(assertion(OPEKA, jti="shared-jti-01"))
    assert hub.service.exchange(assertion(BANK, jti="shared-jti-01")).access_token


def test_an_assertion_living_longer_than_an_hour_is_refused(hub: Hub) -> None:
    refused(hub, assertion(iat=now(), exp=now() + 3601), "at most 3600 seconds")


def test_an_assertion_living_an_hour_gets_a_token(hub: Hub) -> None:
    # Authlib's PrivateKeyJWT signs assertions valid for 3600 s by default.
    assert hub.service.exchange(assertion(iat=now(), exp=now() + 3600)).access_token


def test_a_far_expiry_without_iat_is_refused(hub: Hub) -> None:
    refused(hub, assertion(iat=None, exp=now() + 3700), "at most 3600 seconds")


@pytest.mark.parametrize("claim", ["jti", "exp", "aud", "sub"])
def test_a_missing_required_claim_is_refused(hub: Hub, claim: str) -> None:
    message = "iss and sub" if claim == "sub" else f"lacks the {claim} claim"
    refused(hub, assertion(**{claim: None}), message)


@pytest.mark.parametrize("jti", ["short", "x" * 257])
def test_a_weak_jti_is_refused(hub: Hub, jti: str) -> None:
    refused(hub, assertion(jti=jti), "jti must be a unique string")


def test_a_non_string_jti_is_refused(hub: Hub) -> None:
    refused(hub, assertion(jti=12345678901), "not valid")


def test_an_oversized_assertion_is_refused(hub: Hub) -> None:
    token = assertion(padding="A" * 9000)
    assert len(token) > 8192
    refused(hub, token, "too large")


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJFUzI1NiJ9.e30", "\x00\xff.\x00.\x00"],
)
def test_garbage_is_refused(hub: Hub, token: str) -> None:
    refused(hub, token, "well-formed|ES256 or EdDSA|not valid")


def test_a_tampered_assertion_is_refused(hub: Hub) -> None:
    header, _payload, signature = assertion().split(".")
    payload = b64(json.dumps(claims(exp=now() + 200)).encode())
    refused(hub, f"{header}.{payload}.{signature}", "signature does not verify")


def test_an_access_token_is_not_a_client_assertion(hub: Hub) -> None:
    access = hub.service.exchange(assertion()).access_token
    hub.keys.signed = 0
    refused(hub, access, "iss and sub")


# -- access tokens ---------------------------------------------------------------------------------


@pytest.fixture
def access_token(hub: Hub) -> str:
    token = hub.service.exchange(assertion()).access_token
    hub.keys.signed = 0
    return token


def rejected(hub: Hub, token: str, message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        hub.service.verify_access_token(token)


def hub_claims(**changes: Any) -> dict[str, Any]:
    issued = now()
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "opeka",
        "aud": ACCESS_AUDIENCE,
        "iat": issued,
        "nbf": issued,
        "exp": issued + 300,
        "jti": uuid.uuid4().hex,
        "scope": "social-benefit-eligibility",
        "token_use": "agency",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_genuine_access_token_passes(hub: Hub, access_token: str) -> None:
    principal = hub.service.verify_access_token(access_token)
    assert principal == AgencyPrincipal(
        "opeka", ("social-benefit-eligibility",), principal.token_id
    )


def test_a_tampered_access_token_payload_is_rejected(hub: Hub, access_token: str) -> None:
    header, payload, signature = access_token.split(".")
    grabbed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    grabbed["scope"] = "social-benefit-eligibility mortgage-application"
    forged = b64(json.dumps(grabbed).encode())
    rejected(hub, f"{header}.{forged}.{signature}", "not valid")


def test_an_access_token_from_another_hub_is_rejected(
    hub: Hub, other_hub_keys: KeyStoreTokenKeys
) -> None:
    token = other_hub_keys.sign_jwt(hub_claims(), typ="at+jwt")
    rejected(hub, token, "not issued by this hub")


def test_an_access_token_with_our_kid_but_another_key_is_rejected(
    hub: Hub, access_token: str
) -> None:
    kid = jwt.get_unverified_header(access_token)["kid"]
    impostor = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(hub_claims(), impostor, algorithm="ES256", headers={"kid": kid})
    rejected(hub, token, "not valid")


def test_an_expired_access_token_is_rejected(hub: Hub, hub_keys: KeyStoreTokenKeys) -> None:
    an_hour_ago = now() - 3600
    token = hub_keys.sign_jwt(
        hub_claims(iat=an_hour_ago, nbf=an_hour_ago, exp=an_hour_ago + 300), typ="at+jwt"
    )
    rejected(hub, token, "expired")


def test_an_access_token_from_another_issuer_is_rejected(hub_keys: KeyStoreTokenKeys) -> None:
    token = Hub(hub_keys, issuer="https://evil.test").service.exchange(assertion()).access_token
    rejected(Hub(hub_keys), token, "not valid")


def test_an_access_token_for_another_audience_is_rejected(
    hub: Hub, hub_keys: KeyStoreTokenKeys
) -> None:
    rejected(hub, hub_keys.sign_jwt(hub_claims(aud="another-api"), typ="at+jwt"), "not valid")


@pytest.mark.parametrize("token_use", ["citizen", "auditor", None])
def test_a_token_that_is_not_an_agency_token_is_rejected(
    hub: Hub, hub_keys: KeyStoreTokenKeys, token_use: str | None
) -> None:
    token = hub_keys.sign_jwt(hub_claims(token_use=token_use), typ="at+jwt")
    rejected(hub, token, "not an agency access token")


def test_a_client_assertion_is_not_an_access_token(hub: Hub) -> None:
    rejected(hub, assertion(), "not issued by this hub")


def test_none_and_hmac_access_tokens_are_rejected(hub: Hub, access_token: str) -> None:
    kid = jwt.get_unverified_header(access_token)["kid"]
    rejected(hub, forge({"alg": "none", "kid": kid}, hub_claims()), "ES256 tokens")
    header = {"alg": "HS256", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(hub_claims()).encode())}"
    mac = hmac.new(kid.encode(), signing_input.encode(), hashlib.sha256).digest()
    rejected(hub, f"{signing_input}.{b64(mac)}", "ES256 tokens")


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti"])
def test_an_access_token_missing_a_required_claim_is_rejected(
    hub: Hub, hub_keys: KeyStoreTokenKeys, claim: str
) -> None:
    rejected(hub, hub_keys.sign_jwt(hub_claims(**{claim: None}), typ="at+jwt"), "not valid")


def test_an_oversized_access_token_is_rejected(hub: Hub, hub_keys: KeyStoreTokenKeys) -> None:
    token = hub_keys.sign_jwt(hub_claims(padding="A" * 9000), typ="at+jwt")
    rejected(hub, token, "too large")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_garbage_access_tokens_are_rejected(hub: Hub, token: str) -> None:
    rejected(hub, token, "well-formed|ES256 tokens")
