"""The values of the case feature: a case, one change of it, and what it offers.

A case is keyed by the agency that opened it and the agency's own reference
(``case_reference``, the one its evidence requests carry), so two agencies'
references never collide and neither can reach the other's case. Every
change is kept as a :class:`CaseChange`, so the citizen reads a timeline
rather than only the latest word.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final, Literal

from hub.domain.identity import CitizenRef

__all__ = [
    "MISSING_DOCUMENT",
    "Case",
    "CaseChange",
    "CaseEvidence",
    "CaseNotice",
    "CaseView",
    "DocumentOffer",
    "TimelineItem",
]

#: The status that names a document (an evidence type) and a deadline.
MISSING_DOCUMENT: Final = "missing-document"


@dataclass(frozen=True, slots=True)
class Case:
    """A citizen's case at one agency, as it stands now."""

    agency_id: str
    reference: str
    citizen: CitizenRef
    title: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    document: str | None = None
    deadline: dt.date | None = None
    note: str | None = None
    #: Bumped by every change; a change applies only to the version it read.
    version: int = 1

    @property
    def subject(self) -> str:
        """The citizen as the access log names them (``afm:…`` or ``amka:…``)."""
        return f"{self.citizen.kind}:{self.citizen.value}"

    def same_content(self, other: Case) -> bool:
        """Whether ``other`` says what this case says (a repeated PUT changes nothing)."""
        return (
            self.title == other.title
            and self.status == other.status
            and self.document == other.document
            and self.deadline == other.deadline
            and self.note == other.note
        )


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One step of a case's timeline: what the agency said, and when."""

    at: dt.datetime
    title: str
    status: str
    document: str | None = None
    deadline: dt.date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CaseEvidence:
    """An evidence request the agency made under the case's reference."""

    at: dt.datetime
    evidence_type: str | None
    purpose: str | None
    outcome: str
    log_index: int


@dataclass(frozen=True, slots=True)
class DocumentOffer:
    """How a missing document can reach the agency without the citizen carrying paper.

    ``agency_can_fetch``: a purpose lets the agency obtain that evidence type
    through the hub itself (once-only); ``certificate``: the citizen can
    issue a sealed certificate of it on ``/me``.
    """

    evidence_type: str
    agency_can_fetch: bool
    certificate: bool


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """A status change or an evidence request, in the order they happened."""

    kind: Literal["status", "evidence"]
    at: dt.datetime
    change: CaseChange | None = None
    evidence: CaseEvidence | None = None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as its citizen sees it: the case, its timeline (oldest first), the offer."""

    case: Case
    timeline: tuple[TimelineItem, ...]
    offer: DocumentOffer | None


@dataclass(frozen=True, slots=True)
class CaseNotice:
    """What the citizen is told about a change: who, which case, which status.

    No identifier of the citizen beyond the reference the notifications
    resolve to contact points, and no evidence content: the message links to
    ``/me/cases``, which needs sign-in.
    """

    subject: str
    agency_id: str
    case_reference: str
    title: str
    status: str
    document: str | None
    deadline: dt.date | None
    at: dt.datetime
