"""The values of the once-only exchange: an agency's request, the hub's answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.identity import CitizenRef
from hub.domain.text import check_plain_text

__all__ = ["EvidenceRequest", "EvidenceResult", "IdentityLookup"]


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    citizen: CitizenRef
    evidence_type: str
    purpose: str
    consent_id: str | None = None
    official: str | None = None
    case_reference: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: The ``X-Request-ID`` the agency sent, kept beside the hub's own id.
    client_request_id: str | None = None

    def check_text(self) -> None:
        """Refuse control and bidi-control characters in what goes into the log."""
        check_plain_text(self.official, "official")
        check_plain_text(self.case_reference, "case_reference")
        for name, value in self.parameters.items():
            check_plain_text(name, "a parameter name")
            check_plain_text(value, f"parameter {name}")


@dataclass(frozen=True, slots=True)
class EvidenceResult:
    request_id: str
    evidence_type: str
    purpose: str
    evidence: dict[str, Any]
    registries: tuple[str, ...]
    issued_at: dt.datetime
    legal_basis: str | None
    consent_id: str | None
    log_index: int
    parameters: Mapping[str, str] = field(default_factory=dict)
    seal: str | None = None
    #: Field -> where its value came from: each registry, and as of when it says it is true.
    provenance: Mapping[str, list[dict[str, str | None]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentityLookup:
    """Where the hub finds both identifiers of a citizen given either."""

    registry: str
    operation: str
    afm_path: str
    amka_path: str
