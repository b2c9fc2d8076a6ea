"""Builds the audit feature: the access log, the audit service and its witnesses.

``hub.app`` and the ``hub audit`` commands build the audit service here, so
both sign the same checkpoints the same way: the SQL store
(``hub/persistence/audit_queries.py``), the LOG key's signer
(:mod:`hub.audit.keys`) and the checkpoint policy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from hub.audit.keys import KeyStoreLogSigner
from hub.audit.models import CheckpointPolicy
from hub.audit.service import DEFAULT_ORIGIN, AuditService
from hub.audit.witnessing import WitnessEndpoint, WitnessSubmitter
from hub.domain.auditlog.witness import parse_cosigner_verifier
from hub.persistence.audit_queries import SqlAuditStore
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.witnesses import SqlCosignatureStore
from hub.witness.client import HttpWitnessTransport

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.config import Settings
    from hub.domain.auditlog.entry import AccessEntry
    from hub.domain.catalog import CatalogHolder
    from hub.domain.sealing.keystore import KeyStore
    from hub.persistence.db import Database

__all__ = [
    "build_access_log",
    "build_audit_service",
    "build_witnessing",
    "stamp_catalog_version",
]


def build_access_log(db: Database, catalog: CatalogHolder) -> SqlAccessLog:
    """The access log on the hub's database, naming the catalogue in force in each entry."""
    access_log = SqlAccessLog(db)
    access_log.stamp = stamp_catalog_version(catalog)
    return access_log


def stamp_catalog_version(holder: CatalogHolder) -> Callable[[AccessEntry], AccessEntry]:
    """Name the catalogue in force in every entry the log appends (version 3 on)."""

    def stamp(entry: AccessEntry) -> AccessEntry:
        if entry.v < 3 or entry.catalog_version is not None or not holder.version:
            return entry
        return replace(entry, catalog_version=holder.version)

    return stamp


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
