"""What the case feature needs from the outside: storage, the log, notifications.

A change of a case, its access-log entry, the citizen's notification and
the agency's webhook event must all commit together or not at all: a
citizen told of a change that rolled back, or a change nobody was told of,
would both be wrong. So :class:`CaseStore.save` takes them all and writes
them in one transaction; :class:`CaseNotices` is called *inside* that
transaction with its handle (a SQLAlchemy ``Session``, which this package
does not import) to enqueue the notice in the notifications' outbox.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hub.cases.models import Case, CaseChange, CaseEvidence, CaseNotice
    from hub.domain.auditlog.entry import AccessEntry
    from hub.webhooks.models import AgencyEvent

__all__ = ["CaseEvidenceLog", "CaseNotices", "CaseStore"]


@runtime_checkable
class CaseNotices(Protocol):
    """Tells the citizen about a change of their case, through the outbox."""

    def case_changed(self, transaction: Any, notice: CaseNotice) -> None:
        """Enqueue the notice in ``transaction`` (the change's own database session)."""
        ...


@runtime_checkable
class CaseStore(Protocol):
    """Cases and their timelines in the hub's database."""

    def get(self, agency_id: str, reference: str) -> Case | None: ...

    def owners(self, reference: str) -> list[Case]:
        """Every agency's case under ``reference`` (to log a reach for another's)."""
        ...

    def save(
        self,
        case: Case,
        *,
        expected_version: int | None,
        change: CaseChange,
        entries: Sequence[AccessEntry],
        notice: CaseNotice,
        event: AgencyEvent,
    ) -> bool:
        """Write the case (new when ``expected_version`` is None) and everything with it.

        False when another change won the race: the case exists already, or
        its version is no longer ``expected_version``; nothing is written then.
        """
        ...

    def history(self, agency_id: str, reference: str) -> list[CaseChange]:
        """The case's changes, oldest first."""
        ...

    def cases_for(self, subjects: Collection[str], *, limit: int) -> list[Case]:
        """The cases naming any of ``subjects``, most recently changed first."""
        ...


@runtime_checkable
class CaseEvidenceLog(Protocol):
    """The evidence requests an agency made under a case reference, from the access log."""

    def evidence_for(
        self,
        agency_id: str,
        reference: str,
        subjects: Collection[str],
        *,
        hidden_purposes: Collection[str],
        limit: int,
    ) -> list[CaseEvidence]:
        """Oldest first; entries of purposes still hidden from the citizen are left out."""
        ...
