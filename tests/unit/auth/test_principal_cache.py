"""The principal of an access token is remembered until the token expires.

Agencies send one access token with every request, so the hub keeps the
decoded principal per token digest. These tests show what the cache must
never change: a repeat skips the signature check, but an expired token, a
token whose key the hub no longer accepts, and a token altered by one byte
are refused exactly as without the cache. The key store is a real one.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from hub.auth import service as auth
from hub.auth.service import ACCESS_AUDIENCE, TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.domain.sealing import keystore
from hub.errors import InvalidToken

ISSUER = "https://hub.test"


class RevocableKeys:
    """The hub's real token keys, with a switch that stops accepting one kid."""

    def __init__(self, keys: KeyStoreTokenKeys) -> None:
        self.keys = keys
        self.refused: set[str] = set()

    def sign_jwt(self, claims: dict[str, Any], *, typ: str) -> str:
        return self.keys.sign_jwt(claims, typ=typ)

    def verification_key(self, kid: str) -> Any | None:
        return None if kid in self.refused else self.keys.verification_key(kid)

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()


class NoReplay:
    def remember(self, issuer: str, jti: str, expires_at: Any) -> bool:
        return True


@pytest.fixture(scope="module")
def token_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStoreTokenKeys:
    path: Path = tmp_path_factory.mktemp("hub") / "keys"
    keystore.init(path, None)
    return KeyStoreTokenKeys(keystore.load(path))


@pytest.fixture
def keys(token_keys: KeyStoreTokenKeys) -> RevocableKeys:
    return RevocableKeys(token_keys)


@pytest.fixture
def service(keys: RevocableKeys) -> TokenService:
    return TokenService(
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/oauth2/token",
        agency_keys=lambda _agency: {},
        agency_purposes=lambda _agency: (),
        keys=keys,
        replay=NoReplay(),
    )


def token(keys: RevocableKeys, *, lifetime: int = 300, **changes: Any) -> str:
    issued = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "opeka",
        "aud": ACCESS_AUDIENCE,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": "social-benefit-eligibility",
        "token_use": "agency",
        **changes,
    }
    return keys.sign_jwt(claims, typ="at+jwt")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token PyJWT really decodes (the real function runs)."""
    seen: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return seen


def test_a_repeated_token_is_verified_once(
    service: TokenService, keys: RevocableKeys, decodes: list[str]
) -> None:
    access = token(keys)
    first = service.verify_access_token(access)
    for _ in range(5):
        assert service.verify_access_token(access) == first
    assert decodes == [access]


def test_a_cached_token_is_refused_once_it_expires(
    service: TokenService, keys: RevocableKeys
) -> None:
    # exp four seconds ago: inside the five-second leeway, so it passes now,
    # and leaves it a little over a second later.
    access = token(keys, lifetime=-(auth.ACCESS_LEEWAY - 1))
    service.verify_access_token(access)
    time.sleep(1.2)
    with pytest.raises(InvalidToken, match="expired"):
        service.verify_access_token(access)


def test_a_cached_token_is_refused_once_its_key_is_not_accepted(
    service: TokenService, keys: RevocableKeys
) -> None:
    access = token(keys)
    service.verify_access_token(access)
    keys.refused.add(jwt.get_unverified_header(access)["kid"])
    with pytest.raises(InvalidToken, match="not issued by this hub"):
        service.verify_access_token(access)
    keys.refused.clear()
    assert service.verify_access_token(access).agency_id == "opeka"


def test_an_altered_copy_of_a_cached_token_is_refused(
    service: TokenService, keys: RevocableKeys
) -> None:
    access = token(keys)
    service.verify_access_token(access)
    header, payload, signature = access.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken, match="not valid"):
        service.verify_access_token(f"{header}.{payload}.{flipped}")


def test_a_refused_token_is_not_remembered(
    service: TokenService, keys: RevocableKeys, decodes: list[str]
) -> None:
    wrong = token(keys, token_use="citizen")
    for _ in range(2):
        with pytest.raises(InvalidToken, match="not an agency access token"):
            service.verify_access_token(wrong)
    assert decodes == [wrong, wrong]


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = auth._PrincipalCache(size=2)
    entry = auth._Verified(auth.AgencyPrincipal("a", (), "j"), "kid", object(), 0.0)
    cache.put(b"one", entry)
    cache.put(b"two", entry)
    assert cache.get(b"one") is entry  # now the most recently used
    cache.put(b"three", entry)
    assert len(cache) == 2
    assert cache.get(b"two") is None
    assert cache.get(b"one") is entry
    assert cache.get(b"three") is entry
