"""Builds the certificate feature: the PDF sealer and its timestamps, the service, the gate.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete store (``hub/persistence/certificates.py``), the rate limiter
and the timestamp authority's client (``adapters/tsa.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.tsa import http_timestamper
from hub.certificates.issuance import IssuanceGate
from hub.certificates.service import CertificateService, RegistryHolderNames
from hub.domain.sealing.pades import (
    GuardedTimeStamper,
    KeyStoreTimeStamper,
    PadesLevel,
    PdfSealer,
)
from hub.persistence.certificates import SqlCertificateStore
from hub.persistence.ratelimit import SqlRateLimiter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pyhanko.sign.timestamps import TimeStamper

    from hub.catalog.files import LoadedCatalog
    from hub.config import Settings
    from hub.domain.sealing.keystore import FileKeyStore
    from hub.evidence.ports import RegistryClient
    from hub.evidence.service import EvidenceService
    from hub.persistence.auditlog import SqlAccessLog
    from hub.persistence.db import Database

__all__ = ["build_certificate_service", "build_issuance", "build_timestamper"]


def build_timestamper(settings: Settings, keystore: FileKeyStore) -> TimeStamper:
    """The TSA of B-T and later seals: HUB_TSA_URL, guarded, or the development TSA."""
    if settings.tsa_url is None:
        return KeyStoreTimeStamper(keystore)
    primary = http_timestamper(
        settings.tsa_url,
        timeout=settings.tsa_timeout,
        basic_auth=settings.tsa_credentials,
        bearer=settings.tsa_token,
    )
    fallback = KeyStoreTimeStamper(keystore) if settings.tsa_fallback == "development" else None
    return GuardedTimeStamper(primary, name=settings.tsa_url, fallback=fallback)


def build_certificate_service(
    settings: Settings,
    keystore: FileKeyStore,
    *,
    loaded: LoadedCatalog,
    evidence: EvidenceService,
    registries: Mapping[str, RegistryClient],
    db: Database,
    access_log: SqlAccessLog,
) -> CertificateService:
    """Certificates sealed at ``HUB_PADES_LEVEL``, holders named by the identity registry."""
    level = PadesLevel(settings.pades_level)
    timestamper = None if level is PadesLevel.B_B else build_timestamper(settings, keystore)
    return CertificateService(
        catalog=loaded.holder,
        evidence=evidence,
        names=RegistryHolderNames(registries[loaded.identity.registry], loaded.identity.operation),
        store=SqlCertificateStore(db, access_log),
        access_log=access_log,
        keystore=keystore,
        sealer=PdfSealer(
            keystore,
            level=level,
            timestamper=timestamper,
            downgrade=settings.tsa_url is not None and settings.tsa_fallback == "B-B",
        ),
        trust=keystore.trust,
        public_url=settings.public_url,
    )


def build_issuance(settings: Settings, db: Database) -> IssuanceGate:
    """The per-citizen limit (shared by every node) and the bounded pool of workers."""
    return IssuanceGate(
        SqlRateLimiter(
            db,
            limit=settings.certificate_rate_limit,
            window=settings.certificate_rate_window,
            scope="certificate",
        ),
        workers=settings.certificate_workers,
        queue=settings.certificate_queue,
    )
