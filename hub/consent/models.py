"""The values of consent: requests, consents, previews and how long they last."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from hub.audit.models import LoggedEntry
from hub.domain.identity import CitizenRef

__all__ = [
    "AccessLogPage",
    "Consent",
    "ConsentPolicy",
    "ConsentRequest",
    "ConsentStatus",
    "Decision",
    "Preview",
    "PreviewItem",
    "RequestStatus",
    "subject_of",
]


RequestStatus = Literal["pending", "approved", "refused", "expired"]
ConsentStatus = Literal["active", "expired", "revoked", "used"]
Decision = Literal["approved", "refused"]


def subject_of(citizen: CitizenRef) -> str:
    return f"{citizen.kind}:{citizen.value}"


@dataclass(frozen=True, slots=True)
class ConsentPolicy:
    """How long consents and pending requests last.

    A consent without an end date would outlive the citizen's memory of
    giving it; so every consent ends, by default after ``default_validity``
    and never later than ``max_validity`` after it was given.
    """

    default_validity: dt.timedelta = dt.timedelta(days=90)
    max_validity: dt.timedelta = dt.timedelta(days=365)
    pending_for: dt.timedelta = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """An agency's request for consent, as the agency named the citizen."""

    id: str
    agency_id: str
    citizen: CitizenRef
    purpose: str
    evidence_types: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime
    official: str | None = None
    decision: Decision | None = None
    decided_at: dt.datetime | None = None
    consent_id: str | None = None

    @property
    def subject(self) -> str:
        """The reference under which the access log names the citizen."""
        return subject_of(self.citizen)

    def status(self, now: dt.datetime) -> RequestStatus:
        if self.decision is not None:
            return self.decision
        return "expired" if now >= self.expires_at else "pending"


@dataclass(frozen=True, slots=True)
class Consent:
    """A citizen's consent: who may receive what, for which purpose, until when.

    Both identifiers of the citizen who gave it are kept (from their ID
    token), so that an agency naming the citizen by either one is covered.
    """

    id: str
    request_id: str
    agency_id: str
    purpose: str
    evidence_types: tuple[str, ...]
    subject: str
    citizen_afm: str
    citizen_amka: str | None
    granted_at: dt.datetime
    valid_until: dt.datetime
    once: bool = False
    revoked_at: dt.datetime | None = None
    used_at: dt.datetime | None = None
    use_count: int = 0

    def status(self, now: dt.datetime) -> ConsentStatus:
        if self.revoked_at is not None:
            return "revoked"
        if self.used_at is not None:
            return "used"
        return "expired" if now >= self.valid_until else "active"

    def names(self, citizen: CitizenRef) -> bool:
        """Whether ``citizen`` (by AFM or AMKA) is the one who consented."""
        if citizen.kind == "afm":
            return citizen.value == self.citizen_afm
        return self.citizen_amka is not None and citizen.value == self.citizen_amka

    def covers(
        self, *, agency_id: str, purpose: str, evidence_type: str, citizen: CitizenRef
    ) -> bool:
        return (
            self.agency_id == agency_id
            and self.purpose == purpose
            and evidence_type in self.evidence_types
            and self.names(citizen)
        )


@dataclass(frozen=True, slots=True)
class PreviewItem:
    evidence_type: str
    fields: tuple[str, ...]
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Preview:
    """Exactly what the agency would receive; computed live, never stored."""

    request: ConsentRequest
    items: tuple[PreviewItem, ...]
    fetched_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AccessLogPage:
    items: tuple[LoggedEntry, ...]
    next: str | None
