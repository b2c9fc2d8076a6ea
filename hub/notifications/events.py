"""Which access-log entries a citizen is told about, as outbox events.

Every state change that must notify a citizen already appends an access-log
entry in the transaction that makes the change. :func:`events_for` reads
those entries and says which become events, so the outbox row is written at
that one point, in that transaction: none lost, none for a rolled-back change.

Only what a template needs is kept — agency, purpose and evidence-type
codes, the consent id, a certificate's kind — never the entry's fields,
digests or anyone's name. ``hidden_until`` purposes become events that are
not expanded before the purpose's date (``not_before``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from hub.domain.auditlog.entry import AccessEntry
from hub.notifications.models import Event, EventKind

__all__ = ["HiddenUntil", "event_for", "events_for"]

#: A purpose id -> its ``hidden_until`` date (ISO), or None.
HiddenUntil = Callable[[str], str | None]

_CONSENT: dict[str, EventKind] = {
    "consent.request": "consent_requested",
    "consent.grant": "consent_granted",
    "consent.refuse": "consent_refused",
    "consent.revoke": "consent_revoked",
}


def _hidden(purpose: str | None, hidden_until: HiddenUntil) -> dt.datetime | None:
    if not purpose:
        return None
    found = hidden_until(purpose)
    if not found:
        return None
    try:
        day = dt.date.fromisoformat(str(found)[:10])
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def event_for(entry: AccessEntry, hidden_until: HiddenUntil) -> Event | None:
    """The event ``entry`` announces to its subject, or None."""
    subject = entry.subject
    if not subject or ":" not in subject:
        return None
    actor = entry.actor
    data: dict[str, Any] = {"agency": actor.id if actor.kind == "agency" else None}
    kind: EventKind | None = None
    action, outcome = entry.action, entry.outcome
    if action in _CONSENT and entry.reason != "not-owner":
        # A request is told when opened; a refusal is itself a "denied" entry.
        wanted = "denied" if action == "consent.refuse" else "granted"
        if outcome == wanted:
            kind = _CONSENT[action]
            data.update(
                purpose=entry.purpose,
                evidence_type=entry.evidence_type,
                consent_id=entry.consent_id,
            )
    elif action == "evidence.request" and outcome == "granted":
        # Accesses with the citizen's own consent were announced at the
        # grant; those under a legal basis are what the citizen did not see.
        if entry.legal_basis != "consent":
            kind = "access"
            data.update(
                purpose=entry.purpose,
                evidence_type=entry.evidence_type,
                case_reference=entry.case_reference,
            )
    elif action == "certificate.issue" and outcome == "granted":
        kind = "certificate_issued"
        data.update(evidence_type=entry.evidence_type)
    elif action == "certificate.verify" and outcome == "granted":
        kind = "certificate_checked"
        data.update(evidence_type=entry.evidence_type, agency=None)
    if kind is None:
        return None
    return Event(
        subject=subject,
        kind=kind,
        data={k: v for k, v in data.items() if v is not None},
        at=entry.time,
        not_before=_hidden(entry.purpose, hidden_until),
    )


def events_for(entries: Iterable[AccessEntry], hidden_until: HiddenUntil) -> Iterator[Event]:
    """The events of ``entries`` in order, skipping those that tell nobody anything."""
    for entry in entries:
        event = event_for(entry, hidden_until)
        if event is not None:
            yield event
