"""The access log's signing key, from the key store.

:class:`KeyStoreLogSigner` adapts :class:`hub.domain.sealing.keystore.KeyStore`
(which signs bytes by key id, so that an HSM can hold the key) to the
:class:`hub.audit.ports.LogSigner` port: checkpoints are signed by
the store's current LOG key under its signed-note name.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.domain.auditlog.checkpoint import NoteSignature, NoteVerifier
from hub.domain.sealing.errors import KeyStoreError
from hub.domain.sealing.keystore import LOG_KEY_NAME, KeyPurpose, KeyStatus, KeyStore

__all__ = ["KeyStoreLogSigner"]


class KeyStoreLogSigner:
    """The key store's current LOG key, as a signed-note signer."""

    def __init__(self, keystore: KeyStore, name: str = LOG_KEY_NAME) -> None:
        self._keystore = keystore
        self._kid = keystore.current(KeyPurpose.LOG).kid
        public = keystore.public_key(self._kid)
        if not isinstance(public, Ed25519PublicKey):
            raise KeyStoreError("the log key is not an Ed25519 key")
        self._verifier = NoteVerifier.from_public_key(name, public)

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def key_id(self) -> int:
        return self._verifier.key_id

    def sign(self, message: bytes) -> bytes:
        return self._keystore.sign(self._kid, message)

    def verifier(self) -> NoteVerifier:
        return self._verifier

    def overlap_signatures(self, message: bytes) -> list[NoteSignature]:
        """Signatures of retired log keys still in their rotation's overlap."""
        now = datetime.now(UTC)
        found: list[NoteSignature] = []
        for record in self._keystore.records():
            if (
                record.purpose is KeyPurpose.LOG
                and record.status is KeyStatus.RETIRED
                and record.not_after is not None
                and now < record.not_after
            ):
                public = self._keystore.public_key(record.kid)
                if not isinstance(public, Ed25519PublicKey):
                    continue
                old = NoteVerifier.from_public_key(self.name, public)
                found.append(
                    NoteSignature(old.name, old.key_id, self._keystore.sign(record.kid, message))
                )
        return found

    def verifiers(self) -> list[NoteVerifier]:
        """The current and every retired log key: what old checkpoints were signed with."""
        keys: list[NoteVerifier] = []
        for record in self._keystore.records():
            if record.purpose is KeyPurpose.LOG and record.status is not KeyStatus.REVOKED:
                public = self._keystore.public_key(record.kid)
                if isinstance(public, Ed25519PublicKey):
                    keys.append(NoteVerifier.from_public_key(self.name, public))
        return keys
