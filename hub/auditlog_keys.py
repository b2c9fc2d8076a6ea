"""The access log's signing key from the key store, and the audit service's wiring.

:class:`KeyStoreLogSigner` adapts :class:`hub.domain.sealing.keystore.KeyStore`
(which signs bytes by key id, so that an HSM can hold the key) to the
:class:`hub.domain.auditlog.service.LogSigner` port: checkpoints are signed by
the store's current LOG key under its signed-note name.

:func:`build_audit_service` puts the SQL store, that signer and the checkpoint
policy together; ``hub.app.build_services`` and the ``hub audit`` commands
call it, so both sign the same checkpoints the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.config import Settings
from hub.domain.auditlog.checkpoint import NoteSignature, NoteVerifier
from hub.domain.auditlog.service import DEFAULT_ORIGIN, AuditService, CheckpointPolicy
from hub.domain.auditlog.witness import parse_cosigner_verifier
from hub.domain.auditlog.witnessing import WitnessEndpoint, WitnessSubmitter
from hub.domain.sealing.errors import KeyStoreError
from hub.domain.sealing.keystore import LOG_KEY_NAME, KeyPurpose, KeyStatus, KeyStore
from hub.persistence.audit_queries import SqlAuditStore
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from hub.persistence.witnesses import SqlCosignatureStore
from hub.witness.client import HttpWitnessTransport

__all__ = ["KeyStoreLogSigner", "build_audit_service", "build_witnessing"]


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


def build_audit_service(
    db: Database,
    keystore: KeyStore,
    *,
    access_log: SqlAccessLog | None = None,
    checkpoint_every: int = 1000,
    checkpoint_seconds: float = 60.0,
    origin: str = DEFAULT_ORIGIN,
) -> AuditService:
    """The audit service over the hub's database, signing with the LOG key.

    With ``access_log``, auditors' searches are recorded in the log and every
    committed append checks whether a checkpoint is due.
    """
    store = SqlAuditStore(db)
    service = AuditService(
        tree=store,
        checkpoints=store,
        entries=store,
        signer=KeyStoreLogSigner(keystore),
        origin=origin,
        policy=CheckpointPolicy(every=checkpoint_every, seconds=checkpoint_seconds),
        access_log=access_log,
    )
    if access_log is not None:
        access_log.add_listener(service.note_appended)
    return service


def build_witnessing(
    settings: Settings, db: Database, audit: AuditService
) -> WitnessSubmitter | None:
    """The witness submitter of ``HUB_WITNESSES``; None when none are configured.

    It is woken by every checkpoint the audit service signs; ``hub serve``
    starts its thread under the cluster-wide singleton.
    """
    if not settings.witnesses:
        return None
    submitter = WitnessSubmitter(
        audit=audit,
        checkpoints=SqlAuditStore(db),
        cosignatures=SqlCosignatureStore(db),
        witnesses=[
            WitnessEndpoint(parse_cosigner_verifier(vkey), url) for vkey, url in settings.witnesses
        ],
        transport=HttpWitnessTransport(),
        quorum=settings.effective_witness_quorum,
        retry_seconds=settings.witness_retry_seconds,
    )
    audit.add_checkpoint_listener(submitter.notify)
    return submitter
