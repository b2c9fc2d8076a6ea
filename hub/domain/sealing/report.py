"""The vocabulary of a validation report, shared by JSON and PDF verification.

A verifier (a landlord, a bank, a foreign authority) needs one short answer
(``status``) and, for anyone who must justify a decision, the ETSI EN 319 102-1
vocabulary: a main *indication* and a *sub-indication*. Both the JWS and the
PAdES verifier speak it, so the API can render either report the same way.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Protocol

__all__ = ["Indication", "Report", "Status", "SubIndication", "report_head", "status_for"]


class Status(enum.StrEnum):
    """The one-word answer a verifier acts on."""

    VALID = "valid"
    INVALID = "invalid"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    INDETERMINATE = "indeterminate"


class Indication(enum.StrEnum):
    """ETSI EN 319 102-1 §5.1.2 main indications."""

    TOTAL_PASSED = "TOTAL-PASSED"
    TOTAL_FAILED = "TOTAL-FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(enum.StrEnum):
    """The ETSI EN 319 102-1 §5.1.3 sub-indications this hub reports."""

    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    EXPIRED = "EXPIRED"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    TRY_LATER = "TRY_LATER"
    GENERIC = "GENERIC"


_FAILED = {
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.NOT_YET_VALID,
}

_STATUS = {
    SubIndication.REVOKED: Status.REVOKED,
    SubIndication.REVOKED_NO_POE: Status.REVOKED,
    SubIndication.REVOKED_CA_NO_POE: Status.REVOKED,
    SubIndication.EXPIRED: Status.EXPIRED,
    SubIndication.OUT_OF_BOUNDS_NO_POE: Status.EXPIRED,
    SubIndication.OUT_OF_BOUNDS_NOT_REVOKED: Status.EXPIRED,
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: Status.UNKNOWN,
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: Status.UNKNOWN,
}


def status_for(sub: SubIndication | None) -> tuple[Status, Indication]:
    """Collapse a sub-indication (``None`` = passed) to a status and indication."""
    if sub is None:
        return Status.VALID, Indication.TOTAL_PASSED
    indication = Indication.TOTAL_FAILED if sub in _FAILED else Indication.INDETERMINATE
    default = Status.INVALID if indication is Indication.TOTAL_FAILED else Status.INDETERMINATE
    return _STATUS.get(sub, default), indication


class Report(Protocol):
    """What every verifier's report carries, whatever it verified."""

    @property
    def status(self) -> Status: ...
    @property
    def indication(self) -> Indication: ...
    @property
    def sub_indication(self) -> SubIndication | None: ...
    @property
    def kid(self) -> str | None: ...
    @property
    def signer(self) -> str | None: ...
    @property
    def signing_time(self) -> datetime | None: ...


def report_head(report: Report) -> dict[str, Any]:
    """The fields every report renders first, in the order the API shows them."""
    return {
        "status": str(report.status),
        "indication": str(report.indication),
        "sub_indication": str(report.sub_indication) if report.sub_indication else None,
        "kid": report.kid,
        "signer": report.signer,
        "signing_time": report.signing_time.isoformat() if report.signing_time else None,
    }
