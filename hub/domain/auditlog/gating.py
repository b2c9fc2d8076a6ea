"""The state that gates access, reconciled with the access log.

Consents decide whether an agency may see a citizen's data; a certificate's
status decides whether a verifier is told it is valid. Both live in mutable
tables beside the log, and every change the hub makes to them commits in
one transaction with its log entry (see :mod:`hub.persistence.consents` and
:mod:`hub.persistence.certificates`). So the log can vouch for them, and
:class:`StateAudit` holds them to it:

* it reads the log once, in index order (:meth:`StateAudit.observe`),
  remembering per consent its grant, its revocation and its uses, and per
  certificate its issue and its revocation; on the way it checks that every
  access that relied on a consent comes after the consent's grant and
  before its revocation;
* it then takes the stored rows (:meth:`StateAudit.consents`,
  :meth:`StateAudit.certificates`) and reports every row the log never
  recorded (a consent inserted behind the hub's back) and every column that
  contradicts its entry (a revocation undone, a use count reset);
* :meth:`StateAudit.finish` reports what the log records and no row shows
  any more (a consent or certificate row deleted).

Entries name a consent by ``consent_id`` and a certificate by the digest of
its sealed PDF (``response_digest``, ``sha256:<hex>``), which is all the log
carries: columns the log says nothing about (a consent's ``valid_until`` and
``once``, a certificate's free-text reason) cannot be checked and are listed
in docs/auditing.md.

Memory grows with the number of consents and certificates the log mentions
(a few small values each), not with the number of entries. Messages name
rows by their ids and columns, never by a citizen's identifier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.domain.auditlog.verify import Fault, Finding

__all__ = ["CertificateState", "ConsentState", "StateAudit"]

#: Actions whose ``consent_id`` is the consent itself, not one relied on.
_CONSENT_ACTIONS: Final = frozenset({"consent.grant", "consent.revoke"})
#: The action that spends a use of a consent (``use_count``).
_USE: Final = "evidence.request"
_DIGEST_PREFIX: Final = "sha256:"


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A stored consent row, as far as the log can speak to it."""

    id: str
    agency_id: str
    subject: str
    purpose: str
    evidence_types: tuple[str, ...]
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    once: bool
    used_at: dt.datetime | None
    use_count: int


@dataclass(frozen=True, slots=True)
class CertificateState:
    """A stored certificate row, as far as the log can speak to it."""

    code: str
    subject: str
    evidence_type: str
    pdf_sha256: str
    issued_at: dt.datetime
    status: str
    revoked_at: dt.datetime | None
    revoked_by: str | None


@dataclass(slots=True)
class _Event:
    """What one entry said about a consent or certificate."""

    index: int
    time: dt.datetime | None
    subject: object
    purpose: object
    evidence_type: object
    actor_kind: object


@dataclass(slots=True)
class _ConsentTrail:
    grant: _Event | None = None
    revoke: _Event | None = None
    uses: int = 0
    first_use: int | None = None
    #: Whether its row was read (rows are read once, in id order).
    row_seen: bool = False
    #: The agencies and evidence types of the accesses that relied on it,
    #: each with the first index it appears at.
    agencies: dict[object, int] = field(default_factory=dict)
    evidence_types: dict[object, int] = field(default_factory=dict)


@dataclass(slots=True)
class _CertificateTrail:
    issue: _Event | None = None
    revoke: _Event | None = None
    row_seen: bool = False


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        return dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None


def _event(index: int, entry: Mapping[str, Any]) -> _Event:
    actor = entry.get("actor")
    return _Event(
        index=index,
        time=_time(entry.get("time")),
        subject=entry.get("subject"),
        purpose=entry.get("purpose"),
        evidence_type=entry.get("evidence_type"),
        actor_kind=actor.get("kind") if isinstance(actor, Mapping) else None,
    )


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass
class StateAudit:
    """Reconciles consent and certificate rows with the log; collects findings.

    A hub may keep serving while it is checked, so rows are taken a batch
    at a time: :meth:`begin_rows` says how far the log was read before the
    batch was read (``settled``), the caller then reads the log on to the
    head read after the batch, and only then hands the batch over. A row
    must show every fact logged below ``settled``, may show those logged
    after it, and nothing the log lacks.
    """

    findings: list[Finding] = field(default_factory=list)
    #: The log size read before the current batch of rows; ``None``: at rest.
    settled: int | None = None
    #: The log size read before the first batch of rows.
    rows_from: int | None = None
    #: Uses logged at or after ``settled``, per consent.
    _recent: dict[str, int] = field(default_factory=dict)
    _consents: dict[str, _ConsentTrail] = field(default_factory=dict)
    _certificates: dict[str, _CertificateTrail] = field(default_factory=dict)

    def begin_rows(self, settled: int) -> None:
        """The next batch of rows is read after the log reached ``settled`` entries."""
        if self.rows_from is None:
            self.rows_from = settled
        self.settled = settled
        self._recent.clear()

    def _settled(self, index: int) -> bool:
        return self.settled is None or index < self.settled

    def _before_rows(self, event: _Event) -> bool:
        # A row created after the reading began may lie behind the cursor.
        return self.rows_from is None or event.index < self.rows_from

    def _found(self, index: int | None, message: str) -> None:
        self.findings.append(Finding(Fault.STATE_MISMATCH, index, message))

    def _differs(self, name: str, column: str, event: _Event, what: str) -> None:
        self._found(None, f"{name}: column {column} differs from its {what} at index {event.index}")

    # -- the log, in index order -------------------------------------------------

    def observe(self, index: int, entry: Mapping[str, Any]) -> None:
        """Take note of entry ``index`` (its JSON object, already hash-checked)."""
        if entry.get("outcome") != "granted":
            return
        action = entry.get("action")
        consent_id = entry.get("consent_id")
        if isinstance(consent_id, str):
            if action in _CONSENT_ACTIONS:
                self._consent_change(index, str(action), consent_id, entry)
            else:
                self._consent_use(index, action, consent_id, entry)
        digest = entry.get("response_digest")
        if isinstance(digest, str) and digest.startswith(_DIGEST_PREFIX):
            if action == "certificate.issue":
                self._certificate_issue(index, digest, entry)
            elif action == "certificate.revoke":
                self._certificate_revoke(index, digest, entry)

    def _consent_change(
        self, index: int, action: str, consent_id: str, entry: Mapping[str, Any]
    ) -> None:
        trail = self._consents.setdefault(consent_id, _ConsentTrail())
        if action == "consent.grant":
            if trail.grant is not None:
                self._found(
                    index, f"consent {consent_id} is granted again (first at {trail.grant.index})"
                )
                return
            trail.grant = _event(index, entry)
            return
        if trail.grant is None:
            self._found(index, f"consent {consent_id} is revoked, but the log never granted it")
        if trail.revoke is not None:
            self._found(
                index, f"consent {consent_id} is revoked again (first at {trail.revoke.index})"
            )
            return
        trail.revoke = _event(index, entry)

    def _consent_use(
        self, index: int, action: object, consent_id: str, entry: Mapping[str, Any]
    ) -> None:
        trail = self._consents.setdefault(consent_id, _ConsentTrail())
        use = _event(index, entry)
        actor = entry.get("actor")
        agency = actor.get("id") if isinstance(actor, Mapping) else None
        trail.agencies.setdefault(agency, index)
        trail.evidence_types.setdefault(use.evidence_type, index)
        if trail.grant is not None and use.purpose != trail.grant.purpose:
            self._found(
                index,
                f"the access relied on consent {consent_id}, granted for another purpose",
            )
        if trail.grant is None:
            self._found(
                index,
                f"the access relied on consent {consent_id}, "
                "which the log does not grant before it",
            )
        elif trail.revoke is not None:
            self._found(
                index,
                f"the access relied on consent {consent_id}, revoked at index {trail.revoke.index}",
            )
        if action == _USE:
            trail.uses += 1
            if not self._settled(index):
                self._recent[consent_id] = self._recent.get(consent_id, 0) + 1
            if trail.first_use is None:
                trail.first_use = index

    def _certificate_issue(self, index: int, digest: str, entry: Mapping[str, Any]) -> None:
        trail = self._certificates.setdefault(digest, _CertificateTrail())
        if trail.issue is not None:
            self._found(index, f"the certificate issued at {trail.issue.index} is issued again")
            return
        trail.issue = _event(index, entry)

    def _certificate_revoke(self, index: int, digest: str, entry: Mapping[str, Any]) -> None:
        trail = self._certificates.setdefault(digest, _CertificateTrail())
        if trail.issue is None:
            self._found(index, "the log revokes a certificate it never issued")
        if trail.revoke is not None:
            self._found(index, f"the certificate is revoked again (first at {trail.revoke.index})")
            return
        trail.revoke = _event(index, entry)

    # -- the stored rows ---------------------------------------------------------

    def consents(self, rows: Iterable[ConsentState]) -> None:
        """Hold each consent row to its grant, revocation and uses in the log."""
        for row in rows:
            trail = self._consents.get(row.id)
            name = f"consent {row.id}"
            if trail is not None:
                trail.row_seen = True
            if trail is None or trail.grant is None:
                self._found(None, f"{name}: the consents table holds it, the log never granted it")
                continue
            self._consent_row(name, row, trail, trail.grant)

    def _consent_row(
        self, name: str, row: ConsentState, trail: _ConsentTrail, grant: _Event
    ) -> None:
        # In column order, so that findings read like the row.
        if row.subject != grant.subject:
            self._differs(name, "subject", grant, "grant")
        self._consent_uses(name, row, trail)
        if row.purpose != grant.purpose:
            self._differs(name, "purpose", grant, "grant")
        single = row.evidence_types[0] if len(row.evidence_types) == 1 else None
        if single != grant.evidence_type:
            self._differs(name, "evidence_types", grant, "grant")
        if _utc(row.granted_at) != grant.time:
            self._differs(name, "granted_at", grant, "grant")
        self._consent_revocation(name, row, trail)
        self._consent_spending(name, row, trail)

    def _consent_uses(self, name: str, row: ConsentState, trail: _ConsentTrail) -> None:
        """The agency and evidence types of every access that relied on the consent."""
        for agency, index in trail.agencies.items():
            if agency != row.agency_id:
                self._found(
                    None, f"{name}: column agency_id differs from the agency of its use at {index}"
                )
                break
        for evidence_type, index in trail.evidence_types.items():
            if evidence_type not in row.evidence_types:
                self._found(
                    None, f"{name}: column evidence_types lacks the type of its use at {index}"
                )
                break

    def _consent_revocation(self, name: str, row: ConsentState, trail: _ConsentTrail) -> None:
        revoked_at = _utc(row.revoked_at)
        if trail.revoke is None:
            if revoked_at is not None:
                self._found(None, f"{name}: column revoked_at is set, the log has no revocation")
        elif revoked_at is None:
            if not self._settled(trail.revoke.index):
                return
            self._found(
                None,
                f"{name}: the log revokes it at index {trail.revoke.index}, "
                "its revoked_at is empty",
            )
        elif revoked_at != trail.revoke.time:
            self._differs(name, "revoked_at", trail.revoke, "revocation")

    def _consent_spending(self, name: str, row: ConsentState, trail: _ConsentTrail) -> None:
        """``use_count`` and ``used_at`` against the uses the log records."""
        settled_uses = trail.uses - self._recent.get(row.id, 0)
        if not settled_uses <= row.use_count <= trail.uses:
            self._found(
                None,
                f"{name}: column use_count is {row.use_count}, the log records {trail.uses} uses",
            )
        spent = row.once and trail.uses > 0
        if spent and row.used_at is None and settled_uses:
            self._found(
                None,
                f"{name}: column used_at is empty, the one-time consent was used at index "
                f"{trail.first_use}",
            )
        elif not spent and row.used_at is not None:
            self._found(
                None, f"{name}: column used_at is set, the log records no use that spent it"
            )

    def certificates(self, rows: Iterable[CertificateState]) -> None:
        """Hold each certificate row to its issue and revocation in the log."""
        for row in rows:
            trail = self._certificates.get(_DIGEST_PREFIX + row.pdf_sha256)
            name = f"certificate {row.code}"
            if trail is not None:
                trail.row_seen = True
            if trail is None or trail.issue is None:
                self._found(
                    None, f"{name}: the certificates table holds it, the log never issued it"
                )
                continue
            self._certificate_row(name, row, trail, trail.issue)

    def _certificate_row(
        self, name: str, row: CertificateState, trail: _CertificateTrail, issue: _Event
    ) -> None:
        def differs(column: str, event: _Event, what: str) -> None:
            self._differs(name, column, event, what)

        if row.subject != issue.subject:
            differs("subject", issue, "issue")
        if row.evidence_type != issue.evidence_type:
            differs("evidence_type", issue, "issue")
        if _utc(row.issued_at) != issue.time:
            differs("issued_at", issue, "issue")
        revoke = trail.revoke
        if row.status not in ("valid", "revoked"):
            self._found(None, f"{name}: column status holds an unknown value")
        elif revoke is None:
            if row.status == "revoked" or row.revoked_at is not None:
                self._found(None, f"{name}: the row is revoked, the log has no revocation")
        elif row.status != "revoked":
            if not self._settled(revoke.index):
                return
            self._found(
                None, f"{name}: the log revokes it at index {revoke.index}, its status is valid"
            )
        else:
            if _utc(row.revoked_at) != revoke.time:
                differs("revoked_at", revoke, "revocation")
            if row.revoked_by != revoke.actor_kind:
                differs("revoked_by", revoke, "revocation")

    def finish(self) -> list[Finding]:
        """Report what the log records and no row showed; return every finding."""
        for consent_id, trail in self._consents.items():
            if trail.grant is not None and not trail.row_seen and self._before_rows(trail.grant):
                self._found(
                    trail.grant.index,
                    f"consent {consent_id} granted here has no row in the consents table",
                )
        for certificate in self._certificates.values():
            if (
                certificate.issue is not None
                and not certificate.row_seen
                and self._before_rows(certificate.issue)
            ):
                self._found(
                    certificate.issue.index,
                    "the certificate issued here has no row in the certificates table",
                )
        self._consents.clear()
        self._certificates.clear()
        return self.findings
