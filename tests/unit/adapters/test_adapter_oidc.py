"""The identity issuer's keys, metadata and token endpoint, with the network off.

``responses`` stands in for the issuer; a fake clock moves time. The cache
must fetch once, fetch again on an unknown kid at most once per interval,
survive a failed fetch with the keys it had, and turn every failure into
a hub error.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from adapters.oidc import JwksKeys, OidcClient, OidcDiscovery, parse_jwks
from hub.errors import IdentityProviderUnavailable, InvalidToken

ISSUER = "https://idp.example"
JWKS = f"{ISSUER}/jwks"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _jwk(key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    else:
        data = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
    data.update(kid=kid, **extra)
    return dict(data)


@pytest.fixture
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _keys(clock: Clock, **kwargs: Any) -> JwksKeys:
    return JwksKeys(JWKS, clock=clock, ttl=600, min_refresh=30, **kwargs)


@responses.activate
def test_keys_are_fetched_once_and_cached(ec_key: Any, clock: Clock) -> None:
    responses.get(JWKS, json={"keys": [_jwk(ec_key, "k1")]})
    keys = _keys(clock)
    assert keys("k1") is not None
    clock.now += 100
    assert keys("k1") is not None
    assert len(responses.calls) == 1
    # After the TTL they are fetched again.
    clock.now += 600
    assert keys("k1") is not None
    assert len(responses.calls) == 2


@responses.activate
def test_an_unknown_kid_refreshes_at_most_once_per_interval(ec_key: Any, clock: Clock) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    responses.get(JWKS, json={"keys": [_jwk(ec_key, "k1")]})
    keys = _keys(clock)
    assert keys("k1") is not None
    # Forged kids, many of them, within the interval: no fetch at all.
    clock.now += 31
    assert keys("forged-0") is None
    assert len(responses.calls) == 2
    for n in range(1, 50):
        clock.now += 0.1
        assert keys(f"forged-{n}") is None
    assert len(responses.calls) == 2
    # The issuer rotates: after the interval, the new kid is found with one fetch.
    responses.replace(responses.GET, JWKS, json={"keys": [_jwk(ec_key, "k1"), _jwk(other, "k2")]})
    clock.now += 30
    assert keys("k2") is not None
    assert len(responses.calls) == 3
    # A known kid never causes a fetch before the TTL.
    assert keys("k1") is not None
    assert len(responses.calls) == 3


@responses.activate
def test_a_first_fetch_that_fails_is_503_and_not_retried_at_once(clock: Clock) -> None:
    responses.get(JWKS, status=500)
    keys = _keys(clock)
    with pytest.raises(IdentityProviderUnavailable, match="HTTP 500"):
        keys("k1")
    with pytest.raises(IdentityProviderUnavailable):
        keys("k1")
    assert len(responses.calls) == 1


@responses.activate
def test_stale_keys_serve_while_the_issuer_is_down(ec_key: Any, clock: Clock) -> None:
    responses.get(JWKS, json={"keys": [_jwk(ec_key, "k1")]})
    keys = _keys(clock)
    assert keys("k1") is not None
    responses.replace(responses.GET, JWKS, body=requests.ConnectionError("down"))
    clock.now += 700
    assert keys("k1") is not None
    assert len(responses.calls) == 2
    # Not for ever: a day later, with the issuer still down, there are no keys.
    clock.now += 24 * 3600
    with pytest.raises(IdentityProviderUnavailable, match="ConnectionError"):
        keys("k1")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"body": b"x" * 300_000}, "too large"),
        ({"body": b"<html>"}, "not JSON"),
        ({"json": [1, 2]}, "not a JSON object"),
        ({"json": {"nokeys": []}}, "no keys"),
        ({"status": 302, "headers": {"Location": "https://elsewhere.example/jwks"}}, "HTTP 302"),
        ({"body": requests.Timeout("slow")}, "Timeout"),
    ],
)
@responses.activate
def test_bad_jwks_answers_are_hub_errors(reply: dict[str, Any], message: str, clock: Clock) -> None:
    responses.get(JWKS, **reply)
    with pytest.raises(IdentityProviderUnavailable, match=message):
        _keys(clock)("k1")


def test_only_public_signing_keys_of_allowed_algorithms_are_kept(ec_key: Any) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    private = _jwk(ec_key, "private")
    private["d"] = "AAAA"
    document = {
        "keys": [
            _jwk(ec_key, "ec"),
            _jwk(rsa_key, "rsa", alg="RS256"),
            _jwk(ed_key, "ed"),
            _jwk(ec_key, "enc", use="enc"),
            _jwk(rsa_key, "rs512", alg="RS512"),
            private,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
            _jwk(ec_key, ""),
            "junk",
        ]
    }
    assert set(parse_jwks(document, ("ES256", "RS256", "EdDSA"))) == {"ec", "rsa", "ed"}
    assert set(parse_jwks(document, ("ES256",))) == {"ec"}


@responses.activate
def test_discovery_must_name_the_configured_issuer(clock: Clock) -> None:
    url = f"{ISSUER}/.well-known/openid-configuration"
    good = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": JWKS,
    }
    responses.get(url, json=dict(good, issuer="https://evil.example"))
    with pytest.raises(IdentityProviderUnavailable, match="another issuer"):
        OidcDiscovery(ISSUER, clock=clock).metadata()
    responses.replace(responses.GET, url, json=dict(good, jwks_uri=None))
    with pytest.raises(IdentityProviderUnavailable, match="jwks_uri"):
        OidcDiscovery(ISSUER, clock=clock).metadata()
    responses.replace(responses.GET, url, json=good)
    discovery = OidcDiscovery(ISSUER, clock=clock)
    assert discovery.jwks_uri() == JWKS
    assert discovery.metadata().end_session_endpoint is None
    assert discovery.jwks_uri() == JWKS
    assert len(responses.calls) == 3


def _client(clock: Clock) -> OidcClient:
    discovery = OidcDiscovery(ISSUER, clock=clock)
    return OidcClient(
        discovery,
        client_id="hub client",
        client_secret="s3cr:t",
        redirect_uri="https://hub.example/signin/callback",
    )


@responses.activate
def test_the_code_is_exchanged_with_client_secret_basic(clock: Clock) -> None:
    responses.get(
        f"{ISSUER}/.well-known/openid-configuration",
        json={
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/authorize?tenant=gr",
            "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": JWKS,
        },
    )
    token = responses.post(f"{ISSUER}/token", json={"id_token": "the.id.token"})
    client = _client(clock)
    url = client.authorization_url(state="st", nonce="no", code_challenge="ch")
    assert url.startswith(f"{ISSUER}/authorize?tenant=gr&response_type=code&")
    assert "code_challenge_method=S256" in url
    assert client.exchange_code("the-code", "the-verifier") == "the.id.token"
    sent = token.calls[0].request
    basic = base64.b64decode(sent.headers["Authorization"].removeprefix("Basic ")).decode()
    # RFC 6749 2.3.1: each part is form-encoded first.
    assert basic == "hub%20client:s3cr%3At"
    form = parse_qs(str(sent.body))
    assert form["grant_type"] == ["authorization_code"]
    assert form["code_verifier"] == ["the-verifier"]
    assert form["redirect_uri"] == ["https://hub.example/signin/callback"]
    assert client.end_session_url("https://hub.example/verify") is None

    responses.replace(
        responses.POST, f"{ISSUER}/token", status=400, json={"error": "invalid_grant"}
    )
    with pytest.raises(InvalidToken, match="refused"):
        client.exchange_code("used", "v")
    responses.replace(responses.POST, f"{ISSUER}/token", status=503)
    with pytest.raises(IdentityProviderUnavailable, match="503"):
        client.exchange_code("c", "v")
    responses.replace(responses.POST, f"{ISSUER}/token", json={"access_token": "only"})
    with pytest.raises(InvalidToken, match="no ID token"):
        client.exchange_code("c", "v")
    responses.replace(responses.POST, f"{ISSUER}/token", body=requests.ConnectionError())
    with pytest.raises(IdentityProviderUnavailable):
        client.exchange_code("c", "v")


def test_the_client_implements_the_sign_in_port(clock: Clock) -> None:
    from hub.auth.ports import CitizenSignIn  # noqa: PLC0415

    assert isinstance(_client(clock), CitizenSignIn)


class _NoKeys:
    def sign_jwt(self, claims: Any, *, typ: str) -> str:
        raise AssertionError("not used")

    def verification_key(self, kid: str) -> Any:
        return None


def _service(keys: dict[str, Any], algorithms: tuple[str, ...]) -> Any:
    from hub.auth.service import TokenService  # noqa: PLC0415

    return TokenService(
        issuer="https://hub.example",
        token_endpoint="https://hub.example/oauth2/token",
        agency_keys=lambda _agency: {},
        agency_purposes=lambda _agency: (),
        keys=_NoKeys(),
        replay=None,  # type: ignore[arg-type]
        citizen_issuer=ISSUER,
        citizen_keys=keys.get,
        citizen_audience="hub",
        citizen_algorithms=algorithms,
        afm_claim="taxid",
    )


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_id_tokens_of_each_allowed_algorithm_verify_and_others_do_not(alg: str) -> None:
    import time  # noqa: PLC0415

    private: Any = {
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "EdDSA": ed25519.Ed25519PrivateKey.generate,
    }[alg]()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "hub", "sub": "x", "iat": now, "exp": now + 60}
    token = jwt.encode(
        dict(claims, taxid="123456782"), private, algorithm=alg, headers={"kid": "k"}
    )
    keys = {"k": private.public_key()}
    citizen = _service(keys, ("ES256", "RS256", "EdDSA")).verify_citizen_token(token)
    assert citizen.afm == "123456782"
    others = tuple(a for a in ("ES256", "RS256", "EdDSA") if a != alg)
    with pytest.raises(InvalidToken, match="signed with"):
        _service(keys, others).verify_citizen_token(token)
    # The nonce of a web sign-in must come back exactly.
    with_nonce = jwt.encode(
        dict(claims, taxid="123456782", nonce="n-1"), private, algorithm=alg, headers={"kid": "k"}
    )
    service = _service(keys, (alg,))
    assert service.verify_citizen_token(with_nonce, nonce="n-1").afm == "123456782"
    for wrong in ("n-2", ""):
        with pytest.raises(InvalidToken, match="sign-in"):
            service.verify_citizen_token(with_nonce, nonce=wrong)
    with pytest.raises(InvalidToken, match="sign-in"):
        service.verify_citizen_token(token, nonce="n-1")
    # A key of another type under the right kid is no help to a forger.
    if alg != "ES256":
        other = ec.generate_private_key(ec.SECP256R1())
        forged = jwt.encode(
            dict(claims, taxid="123456782"), other, algorithm="ES256", headers={"kid": "k"}
        )
        with pytest.raises(InvalidToken):
            _service(keys, ("ES256", "RS256", "EdDSA")).verify_citizen_token(forged)
