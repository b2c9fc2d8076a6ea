"""How the certificate, verification and trust handlers reach their services.

They are always present: without keys they are disabled stand-ins that answer
503 with the reason (see ``hub.services``), so no handler checks for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.api._context import services

if TYPE_CHECKING:
    from hub.certificates.issuance import IssuanceGate
    from hub.certificates.service import CertificateService
    from hub.domain.sealing.keystore import FileKeyStore

__all__ = ["certificate_service", "issuance_gate", "keystore"]


def certificate_service() -> CertificateService:
    return services().certificates


def issuance_gate() -> IssuanceGate:
    """The per-citizen limit and bounded pool every issuance goes through."""
    return services().issuance


def keystore() -> FileKeyStore:
    return services().keystore
