"""The hub's token-signing key, taken from the key store.

Adapts :class:`hub.domain.sealing.keystore.KeyStore` (which signs bytes, so an
HSM can hold the key) to the :class:`hub.domain.ports.TokenKeys` port.

The token keys are published apart from the seal keys (``/oauth2/jwks.json``,
named by the OAuth metadata, not ``/.well-known/jwks.json``): a verifier that
trusts the seal JWKS must never accept an access token as a sealed document.
Tokens carry only a ``kid``, never an ``x5c`` chain, which would make every
request's header kilobytes long for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from hub.domain.sealing.jws import sign_compact
from hub.domain.sealing.keystore import KeyPurpose, KeyStatus, KeyStore, ec_public_jwk

__all__ = ["KeyStoreTokenKeys"]


class KeyStoreTokenKeys:
    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._public = {
            record.kid: keystore.public_key(record.kid)
            for record in keystore.records()
            if record.purpose is KeyPurpose.TOKEN and record.status is not KeyStatus.REVOKED
        }

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str) -> str:
        return sign_compact(
            claims, self.keystore, purpose=KeyPurpose.TOKEN, with_x5c=False, typ=typ
        )

    def verification_key(self, kid: str) -> Any | None:
        return self._public.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The public token keys (current and retired, not revoked) as a JWK Set."""
        keys: list[dict[str, Any]] = []
        for kid, key in self._public.items():
            if isinstance(key, ec.EllipticCurvePublicKey):
                keys.append({**ec_public_jwk(key), "kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": keys}
