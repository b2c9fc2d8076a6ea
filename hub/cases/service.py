"""The rules of case status: who may say what about a case, and who reads it.

* An agency updates its own case with ``update``: the first call opens the
  case, later ones change it. The status comes from the catalogue
  (``case_statuses`` in specs/catalog/vocabulary.yaml); ``missing-document``
  names the document (an evidence type) and a deadline, other statuses name
  neither. Title, reference and note are refused when they carry control or
  bidirectional-control characters, like every text an agency writes into
  the permanent record. A repeated identical update changes nothing and
  tells no one twice.
* Each change is written with an access-log entry (``case.update``), the
  citizen's notice and the agency's webhook event, in one transaction.
* An agency reads only its own case; reaching for a reference only another
  agency holds answers 404 like a missing one, and is logged as a denial
  under the citizen that case names.
* The citizen reads every case that names them, each with its timeline
  (status changes and the evidence requests made under its reference) and,
  for a missing document, how it can reach the agency through the hub.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Final

from hub.audit.ports import AccessLog
from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.cases.models import (
    MISSING_DOCUMENT,
    Case,
    CaseChange,
    CaseNotice,
    CaseView,
    DocumentOffer,
    TimelineItem,
)
from hub.cases.ports import CaseEvidenceLog, CaseStore
from hub.domain.auditlog.entry import NOT_OWNER, AccessEntry, Actor
from hub.domain.catalog import Catalog, CatalogView, in_force
from hub.domain.identity import CitizenRef
from hub.domain.text import check_plain_text
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.webhooks.models import AgencyEvent

__all__ = ["STATUS_SECTION", "CaseService"]

#: The vocabulary section that is the catalogue of case statuses.
STATUS_SECTION: Final = "case_statuses"

_MAX_TITLE: Final = 200
_MAX_NOTE: Final = 1000
_MAX_REFERENCE: Final = 200
_MAX_CASES: Final = 100
_MAX_EVIDENCE: Final = 200
#: Attempts at a change that keeps losing races before giving up with 409.
_RETRIES: Final = 5


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is not None:
        value = value.strip()
    if not value:
        if required:
            raise ValidationFailed(f"{name} must not be empty.")
        return None
    if len(value) > limit:
        raise ValidationFailed(f"{name} is at most {limit} characters.")
    return check_plain_text(value, name)


class CaseService:
    """What agencies and citizens do with cases; handlers call only this."""

    def __init__(
        self,
        *,
        catalog: CatalogView,
        store: CaseStore,
        evidence_log: CaseEvidenceLog,
        access_log: AccessLog,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._catalog = catalog
        self.store = store
        self.evidence_log = evidence_log
        self.access_log = access_log
        self._clock = clock

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force now (a reload swaps it whole)."""
        return in_force(self._catalog)

    @property
    def certificate_types(self) -> frozenset[str]:
        """The documents a case may wait for that the hub issues as certificates."""
        return frozenset(self.catalog.certificate_types)

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses of the catalogue, in its order."""
        section = self.catalog.vocabulary.get(STATUS_SECTION, {})
        return tuple(code for code in section if code != "_other")

    # -- agencies ------------------------------------------------------------------

    def update(
        self,
        principal: AgencyPrincipal,
        reference: str,
        *,
        citizen: CitizenRef,
        title: str,
        status: str,
        document: str | None = None,
        deadline: str | dt.date | None = None,
        note: str | None = None,
        request_id: str | None = None,
    ) -> tuple[Case, bool]:
        """Open or change the agency's case; the case and whether it was created."""
        reference = _text(reference, "case_reference", _MAX_REFERENCE, required=True) or ""
        clean_title = _text(title, "title", _MAX_TITLE, required=True) or ""
        clean_note = _text(note, "note", _MAX_NOTE)
        document, due = self._status_details(status, document, deadline)
        for _ in range(_RETRIES):
            now = self._clock()
            current = self.store.get(principal.agency_id, reference)
            if current is not None and current.citizen != citizen:
                raise Conflict("The case names another citizen; a case's citizen never changes.")
            proposed = Case(
                agency_id=principal.agency_id,
                reference=reference,
                citizen=citizen,
                title=clean_title,
                status=status,
                document=document,
                deadline=due,
                note=clean_note,
                created_at=current.created_at if current else now,
                updated_at=now,
                version=current.version + 1 if current else 1,
            )
            if current is not None and current.same_content(proposed):
                return current, False
            if self._save(proposed, current, request_id):
                return proposed, current is None
        raise Conflict("The case changed meanwhile; send the update again.")

    def _status_details(
        self, status: str, document: str | None, deadline: str | dt.date | None
    ) -> tuple[str | None, dt.date | None]:
        if status not in self.statuses:
            raise ValidationFailed(f"status is one of {', '.join(self.statuses)}.")
        if status != MISSING_DOCUMENT:
            if document is not None or deadline is not None:
                raise ValidationFailed(
                    f"Only the status {MISSING_DOCUMENT} names a document and a deadline."
                )
            return None, None
        if document is None or deadline is None:
            raise ValidationFailed(
                f"The status {MISSING_DOCUMENT} needs a document and a deadline."
            )
        if document not in self.catalog.evidence_types:
            raise ValidationFailed("document is an evidence type of the catalogue.")
        if isinstance(deadline, dt.date):
            due = deadline
        else:
            try:
                due = dt.date.fromisoformat(deadline)
            except ValueError as exc:
                raise ValidationFailed("deadline is a date, YYYY-MM-DD.") from exc
        if due < self._clock().date():
            raise ValidationFailed("deadline must not lie in the past.")
        return document, due

    def _save(self, case: Case, current: Case | None, request_id: str | None) -> bool:
        change = CaseChange(
            at=case.updated_at,
            title=case.title,
            status=case.status,
            document=case.document,
            deadline=case.deadline,
            note=case.note,
        )
        entry = AccessEntry(
            time=case.updated_at,
            actor=Actor("agency", case.agency_id),
            action="case.update",
            outcome="granted",
            subject=case.subject,
            case_reference=case.reference,
            request_id=request_id,
        )
        notice = CaseNotice(
            subject=case.subject,
            agency_id=case.agency_id,
            case_reference=case.reference,
            title=case.title,
            status=case.status,
            document=case.document,
            deadline=case.deadline,
            at=case.updated_at,
        )
        event = AgencyEvent(
            agency_id=case.agency_id,
            type="case.updated",
            at=case.updated_at,
            data={
                "case_reference": case.reference,
                "status": case.status,
                "document": case.document,
                "deadline": case.deadline.isoformat() if case.deadline else None,
                "version": case.version,
                "updated_at": _iso(case.updated_at),
            },
        )
        return self.store.save(
            case,
            expected_version=current.version if current else None,
            change=change,
            entries=[entry],
            notice=notice,
            event=event,
        )

    def get(
        self, principal: AgencyPrincipal, reference: str, request_id: str | None = None
    ) -> tuple[Case, list[CaseChange]]:
        """The agency's own case and its changes; another agency's reference is 404."""
        found = self.store.get(principal.agency_id, reference)
        if found is None:
            for other in self.store.owners(reference):
                self._log_refusal(principal, other, "case.view", request_id)
            raise NotFound("There is no such case.")
        return found, self.store.history(found.agency_id, found.reference)

    def _log_refusal(
        self, principal: AgencyPrincipal, other: Case, action: str, request_id: str | None
    ) -> None:
        """An authenticated agency reached for a case another agency opened."""
        self.access_log.record(
            AccessEntry(
                time=self._clock(),
                actor=Actor("agency", principal.agency_id),
                action=action,
                outcome="denied",
                subject=other.subject,
                case_reference=other.reference,
                reason=NOT_OWNER,
                request_id=request_id or uuid.uuid4().hex,
            )
        )

    # -- citizens ------------------------------------------------------------------

    def cases_of(self, citizen: CitizenPrincipal) -> list[CaseView]:
        """Every case naming the citizen, most recently changed first, with timelines."""
        hidden = self._hidden_purposes()
        views = []
        for case in self.store.cases_for(citizen.subjects, limit=_MAX_CASES):
            changes = self.store.history(case.agency_id, case.reference)
            evidence = self.evidence_log.evidence_for(
                case.agency_id,
                case.reference,
                citizen.subjects,
                hidden_purposes=hidden,
                limit=_MAX_EVIDENCE,
            )
            items = [TimelineItem("status", c.at, change=c) for c in changes]
            items += [TimelineItem("evidence", e.at, evidence=e) for e in evidence]
            items.sort(key=lambda item: item.at)
            views.append(CaseView(case=case, timeline=tuple(items), offer=self.offer(case)))
        return views

    def offer(self, case: Case) -> DocumentOffer | None:
        """For a missing document: whether the agency can fetch it, or the citizen issue it."""
        if case.status != MISSING_DOCUMENT or case.document is None:
            return None
        fetchable = any(
            purpose.allows_agency(case.agency_id)
            and purpose.allowed_fields(case.document) is not None
            for purpose in self.catalog.purposes.values()
        )
        return DocumentOffer(
            evidence_type=case.document,
            agency_can_fetch=fetchable,
            certificate=case.document in self.certificate_types,
        )

    def now(self) -> dt.datetime:
        return self._clock()

    def _hidden_purposes(self) -> tuple[str, ...]:
        """Purposes whose accesses are not shown before their ``hidden_until`` date,
        the rule the citizen's access history follows too."""
        today = self._clock().date()
        return tuple(
            p.id
            for p in self.catalog.purposes.values()
            if p.hidden_until is not None and today <= dt.date.fromisoformat(str(p.hidden_until))
        )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
