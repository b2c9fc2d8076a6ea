"""The hub's token-signing key, taken from the key store.

Adapts :class:`hub.domain.sealing.keystore.KeyStore` (which signs bytes, so an
HSM can hold the key) to the :class:`hub.domain.ports.TokenKeys` port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.domain.sealing.jws import sign_compact
from hub.domain.sealing.keystore import KeyPurpose, KeyStatus, KeyStore

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
