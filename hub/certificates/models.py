"""The values of certificates: the stored record, an issued PDF, a verification report."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.sealing.report import Indication, Status, SubIndication

__all__ = [
    "CertificateRecord",
    "CertificateStatus",
    "CodeCheck",
    "IssuedCertificate",
    "VerificationReport",
    "iso_utc",
]


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """What the hub remembers about an issued certificate (never the evidence).

    ``holder_masked`` is stored instead of the name: it is all a verifier by
    code is ever shown, and the full name stays only inside the PDF.
    """

    code: str
    evidence_type: str
    subjects: tuple[str, ...]
    holder_masked: str
    record_sha256: str
    pdf_sha256: str
    issued_at: dt.datetime
    kid: str | None = None
    status: CertificateStatus = CertificateStatus.VALID
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None
    revoked_by: str | None = None

    @property
    def subject(self) -> str:
        """The holder's reference in the access log (the AFM one)."""
        return self.subjects[0]

    def summary(self) -> dict[str, Any]:
        """The holder's view of the certificate in a listing."""
        return {
            "code": self.code,
            "type": self.evidence_type,
            "issued_at": iso_utc(self.issued_at),
            "status": str(self.status),
            "pdf_sha256": self.pdf_sha256,
            "revoked_at": iso_utc(self.revoked_at) if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
        }


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A sealed certificate, its record, and the compact token its QR code carries."""

    record: CertificateRecord
    pdf: bytes
    token: str = ""


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The answer to ``POST /v1/verify``: cryptography first, then the record.

    ``status`` is the cryptographic status, except that a cryptographically
    valid document whose certificate was revoked is ``revoked``.
    """

    status: Status
    indication: Indication
    sub_indication: SubIndication | None
    format: str
    content_digest: str | None = None
    kid: str | None = None
    signer: str | None = None
    signing_time: dt.datetime | None = None
    code: str | None = None
    evidence_type: str | None = None
    level: str | None = None
    issued_at: dt.datetime | None = None
    registered: bool | None = None
    matches_issued: bool | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None
    modifications: tuple[str, ...] = field(default_factory=tuple)
    reasons: tuple[str, ...] = field(default_factory=tuple)
    #: A QR token's claims, compared with the stored record (not reported).
    token_claims: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "indication": str(self.indication),
            "sub_indication": str(self.sub_indication) if self.sub_indication else None,
            "format": self.format,
            "content_digest": self.content_digest,
            "kid": self.kid,
            "signer": self.signer,
            "signing_time": iso_utc(self.signing_time) if self.signing_time else None,
            "code": self.code,
            "type": self.evidence_type,
            "level": self.level,
            "issued_at": iso_utc(self.issued_at) if self.issued_at else None,
            "registered": self.registered,
            "matches_issued": self.matches_issued,
            "revoked_at": iso_utc(self.revoked_at) if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "modifications": list(self.modifications),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """The answer to ``GET /v1/verify/{code}``: just enough to match the paper."""

    status: str
    code: str
    evidence_type: str | None = None
    issued_at: dt.datetime | None = None
    holder: str | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "type": self.evidence_type,
            "issued_at": iso_utc(self.issued_at) if self.issued_at else None,
            "holder": self.holder,
            "revoked_at": iso_utc(self.revoked_at) if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
        }


def iso_utc(moment: dt.datetime) -> str:
    """``moment`` in UTC, ISO 8601 with a ``Z``."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
