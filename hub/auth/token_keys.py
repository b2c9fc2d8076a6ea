"""The hub's token-signing key, taken from the key store.

Adapts :class:`hub.domain.sealing.keystore.KeyStore` (which signs bytes, so an
HSM can hold the key) to the :class:`hub.auth.ports.TokenKeys` port.

The token keys are published apart from the seal keys (``/oauth2/jwks.json``,
named by the OAuth metadata, not ``/.well-known/jwks.json``): a verifier that
trusts the seal JWKS must never accept an access token as a sealed document.
Tokens carry only a ``kid``, never an ``x5c`` chain, which would make every
request's header kilobytes long for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from hub.domain.sealing.jws import sign_compact
from hub.domain.sealing.keystore import KeyPurpose, KeyStatus, KeyStore, ec_public_jwk

__all__ = ["KeyStoreTokenKeys"]


class KeyStoreTokenKeys:
    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        # A retired key verifies until its not_after (the rotation's overlap,
        # as long as the longest token lives), then it is gone.
        self._public = {
            record.kid: (keystore.public_key(record.kid), record.not_after)
            for record in keystore.records()
            if record.purpose is KeyPurpose.TOKEN and record.status is not KeyStatus.REVOKED
        }

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str) -> str:
        return sign_compact(
            claims, self.keystore, purpose=KeyPurpose.TOKEN, with_x5c=False, typ=typ
        )

    def verification_key(self, kid: str) -> Any | None:
        found = self._public.get(kid)
        if found is None or not _in_overlap(found[1]):
            return None
        return found[0]

    def jwks(self) -> dict[str, Any]:
        """The public token keys (current, and retired within their overlap) as a JWK Set."""
        keys: list[dict[str, Any]] = []
        for kid, (key, until) in self._public.items():
            if isinstance(key, ec.EllipticCurvePublicKey) and _in_overlap(until):
                keys.append({**ec_public_jwk(key), "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}


def _in_overlap(until: datetime | None) -> bool:
    return until is None or datetime.now(UTC) < until
