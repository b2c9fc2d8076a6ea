"""What consent needs from the outside: where consents live, and the citizen's log.

:class:`ConsentStore` and :class:`CitizenLogReader` are implemented by
``hub/persistence/consents.py``; :class:`PreviewFetcher` by the evidence
service, which fetches and minimises exactly as an agency's request would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, Protocol, runtime_checkable

from hub.audit.models import LoggedEntry
from hub.consent.models import Consent, ConsentRequest, Decision
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import Purpose
from hub.domain.identity import CitizenRef

__all__ = ["CitizenLogReader", "ConsentStore", "PreviewFetcher"]


@runtime_checkable
class ConsentStore(Protocol):
    """Where requests and consents live, with their log entries.

    Every mutating method appends ``entries`` to the access log in the same
    transaction as its change, and every conditional change reports whether
    it happened, so that two racing hub nodes cannot both win.
    """

    def add_request(self, request: ConsentRequest, entries: Sequence[AccessEntry]) -> None: ...

    def get_request(self, request_id: str) -> ConsentRequest | None: ...

    def requests_for(self, subjects: Collection[str], *, limit: int) -> list[ConsentRequest]:
        """Requests naming any of ``subjects``, newest first."""
        ...

    def decide(
        self,
        request_id: str,
        *,
        decision: Decision,
        decided_at: dt.datetime,
        consent: Consent | None,
        entries: Sequence[AccessEntry],
    ) -> bool:
        """Record the decision (and the consent) if the request is still pending."""
        ...

    def get_consent(self, consent_id: str) -> Consent | None: ...

    def consents_for(self, afm: str, *, limit: int) -> list[Consent]:
        """Consents given by the citizen with that AFM, newest first."""
        ...

    def find_consents(self, *, agency_id: str, purpose: str, citizen: CitizenRef) -> list[Consent]:
        """Consents of that agency and purpose given by that citizen (any status)."""
        ...

    def revoke(self, consent_id: str, *, at: dt.datetime, entries: Sequence[AccessEntry]) -> bool:
        """Mark the consent revoked unless it already was."""
        ...

    def use(self, consent_id: str, *, at: dt.datetime, entry: AccessEntry) -> int | None:
        """Use the consent and log ``entry`` atomically; its log index.

        The change is conditional on the consent being unrevoked, unused
        and unexpired at ``at`` when the database applies it; otherwise
        nothing is written and the answer is None.
        """
        ...


@runtime_checkable
class CitizenLogReader(Protocol):
    """The access-log entries about one citizen, for the citizen."""

    def entries_about(
        self,
        subjects: Collection[str],
        *,
        hidden_purposes: Collection[str],
        below: int | None,
        limit: int,
    ) -> list[LoggedEntry]:
        """Entries whose subject is one of ``subjects``, newest first."""
        ...


class PreviewFetcher(Protocol):
    """Fetches and minimises evidence exactly as an agency's request would."""

    def preview(
        self, *, purpose: Purpose, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]: ...
