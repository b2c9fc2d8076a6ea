"""Consent: requests, previews, decisions, revocation, receipts and the citizen's view.

Once-only exchange is legitimate only while the citizen stays in control. A
purpose rests either on a legal basis or on the citizen's consent; for the
latter this module is the whole life of a consent:

* an agency *opens a request* naming the citizen, a consent purpose it may
  act for and the evidence types that purpose covers. Legal-basis purposes
  are refused here: a consent record next to a law would suggest that the
  citizen could withdraw what the law does not let them withdraw, and would
  let an agency "launder" a weak basis into consent. No record is created;
* the citizen sees the request, *previews* exactly the minimised data that
  would leave (fetched live, never stored), then *approves* (until a date,
  or for one use) or *refuses*;
* the :class:`StoredConsentGate` lets :class:`~hub.evidence.service.EvidenceService`
  proceed only with an active consent covering agency, purpose, evidence
  type and citizen; it re-checks the consent *in the same transaction* that
  records the access, so a revocation committed before that moment always
  wins and a one-time consent is used by exactly one request;
* the citizen can *revoke* at any time and download a *receipt*: the
  fields of a Kantara Consent Receipt / ISO/IEC TS 27560 record, sealed as a
  compact JWS with the hub's seal key;
* the citizen can read *every access* to their data from the access log,
  newest first, except entries of purposes whose ``hidden_until`` date has
  not yet passed (those are logged at once, shown later).

Every decision (request, grant, refusal, revocation, use) is an
:class:`~hub.domain.auditlog.entry.AccessEntry` written by the store in the
same transaction as the decision itself, so the log and the consents never
disagree. Storage stays behind the :class:`ConsentStore` and
:class:`CitizenLogReader` ports; the clock is injected so tests can travel
in time.

Identifiers of requests and consents are random (128 bits) so that they can
be neither guessed nor enumerated; another citizen's id answers 404, exactly
like an unknown one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Final, Literal

from hub.audit.models import LoggedEntry
from hub.audit.ports import AccessLog
from hub.audit.service import decode_cursor, encode_cursor
from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.consent.models import (
    AccessLogPage,
    Consent,
    ConsentPolicy,
    ConsentRequest,
    Decision,
    Preview,
    PreviewItem,
    subject_of,
)
from hub.consent.ports import CitizenLogReader, ConsentStore, PreviewFetcher
from hub.domain.auditlog.entry import NOT_OWNER, AccessEntry, Actor
from hub.domain.catalog import CatalogView, Purpose
from hub.domain.identity import CitizenRef
from hub.domain.sealing.jws import seal_json
from hub.domain.sealing.keystore import KeyStore
from hub.domain.text import check_plain_text
from hub.errors import (
    BadRequest,
    Conflict,
    ConsentRequired,
    HubError,
    NotFound,
    PurposeNotAllowed,
    ServiceUnavailable,
    ValidationFailed,
)

__all__ = [
    "CONSENT_REQUEST_ENDPOINT",
    "RECEIPT_VERSION",
    "ConsentService",
    "StoredConsentGate",
    "new_id",
]

#: Where an agency opens a consent request; named in every consent-required problem.
CONSENT_REQUEST_ENDPOINT: Final = "/v1/consent-requests"
#: The Kantara Consent Receipt specification the receipt follows.
RECEIPT_VERSION: Final = "KI-CR-v1.1.0"


_MAX_PAGE: Final = 200
_DEFAULT_PAGE: Final = 50


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A random, unguessable identifier (uuid4: 122 random bits, as hex)."""
    return uuid.uuid4().hex


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# -- the gate the evidence service asks ---------------------------------------------------


class StoredConsentGate:
    """:class:`~hub.evidence.ports.ConsentGate` backed by a :class:`ConsentStore`.

    ``authorise`` answers before any registry is called; ``record_use`` is
    called with the evidence request's granted log entry once the data is
    ready, and writes it only if the consent is still usable at that moment.
    """

    def __init__(self, store: ConsentStore, *, clock: Callable[[], dt.datetime] = _now) -> None:
        self.store = store
        self._clock = clock

    @staticmethod
    def _refuse(purpose: Purpose) -> ConsentRequired:
        return ConsentRequired(
            f"Purpose {purpose.id} needs the citizen's consent, and no active consent "
            "covers this request; open a consent request.",
            consent_request_endpoint=CONSENT_REQUEST_ENDPOINT,
        )

    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        now = self._clock()
        if consent_id is not None:
            found = self.store.get_consent(consent_id)
            candidates = [] if found is None else [found]
        else:
            candidates = self.store.find_consents(
                agency_id=agency_id, purpose=purpose.id, citizen=citizen
            )
        usable = [
            c
            for c in candidates
            if c.status(now) == "active"
            and c.covers(
                agency_id=agency_id,
                purpose=purpose.id,
                evidence_type=evidence_type,
                citizen=citizen,
            )
        ]
        if not usable:
            raise self._refuse(purpose)
        # Spend a one-time consent only when no lasting one covers the request,
        # and among equals take the one that lasts longest.
        usable.sort(key=lambda c: (c.once, -c.valid_until.timestamp()))
        return usable[0].id

    def record_use(self, consent_id: str, entry: AccessEntry) -> int:
        """Use the consent and log the granted access in one transaction."""
        index = self.store.use(consent_id, at=self._clock(), entry=entry)
        if index is None:
            raise ConsentRequired(
                "The consent was revoked, used or expired before the evidence was released; "
                "nothing was shared.",
                consent_request_endpoint=CONSENT_REQUEST_ENDPOINT,
            )
        return index


# -- the service ------------------------------------------------------------------------


def _parse_when(value: str | dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationFailed(f"{name} is an RFC 3339 date-time") from exc
    if parsed is not None and parsed.utcoffset() is None:
        raise ValidationFailed(f"{name} needs a time zone offset, e.g. Z")
    return parsed


class ConsentService:
    """What agencies and citizens do with consents; handlers call only this."""

    def __init__(
        self,
        *,
        catalog: CatalogView,
        store: ConsentStore,
        access_log: AccessLog,
        log_reader: CitizenLogReader,
        fetcher: PreviewFetcher | None = None,
        keystore: KeyStore | None = None,
        policy: ConsentPolicy | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.access_log = access_log
        self.log_reader = log_reader
        self.fetcher = fetcher
        self.keystore = keystore
        self.policy = policy or ConsentPolicy()
        self._clock = clock

    def now(self) -> dt.datetime:
        """The service's clock: statuses (expired, pending) are judged by it."""
        return self._clock()

    # -- agency side -------------------------------------------------------------

    def _consent_purpose(self, principal: AgencyPrincipal, purpose_id: str) -> Purpose:
        purpose = self.catalog.purposes.get(purpose_id)
        if purpose is None:
            raise PurposeNotAllowed(f"There is no purpose {purpose_id!r}.")
        if not purpose.allows_agency(principal.agency_id) or purpose_id not in principal.purposes:
            raise PurposeNotAllowed(
                f"Agency {principal.agency_id} may not act for purpose {purpose.id}."
            )
        if not purpose.consent_required:
            raise PurposeNotAllowed(
                f"Purpose {purpose.id} rests on a legal basis, not on consent; "
                "no consent is asked for it and none is recorded."
            )
        return purpose

    def open_request(
        self,
        principal: AgencyPrincipal,
        *,
        citizen: CitizenRef,
        purpose: str,
        evidence_types: Sequence[str],
        official: str | None = None,
        request_id: str | None = None,
    ) -> ConsentRequest:
        """Open a pending request; refusals are logged, like any denied access."""
        check_plain_text(official, "official")
        now = self._clock()
        types = tuple(dict.fromkeys(evidence_types))
        actor = Actor("agency", principal.agency_id, official or None)
        try:
            found = self._consent_purpose(principal, purpose)
            if not types:
                raise BadRequest("Name at least one evidence type.")
            for evidence_type in types:
                if evidence_type not in self.catalog.evidence_types:
                    raise BadRequest(f"There is no evidence type {evidence_type!r}.")
                if found.allowed_fields(evidence_type) is None:
                    raise PurposeNotAllowed(
                        f"Purpose {found.id} does not cover evidence type {evidence_type}."
                    )
        except HubError as exc:
            self.access_log.record(
                AccessEntry(
                    time=now,
                    actor=actor,
                    action="consent.request",
                    outcome="denied",
                    subject=subject_of(citizen),
                    purpose=purpose,
                    evidence_type=types[0] if len(types) == 1 else None,
                    reason=exc.slug,
                    request_id=request_id,
                )
            )
            raise
        request = ConsentRequest(
            id=new_id(),
            agency_id=principal.agency_id,
            citizen=citizen,
            purpose=found.id,
            evidence_types=types,
            created_at=now,
            expires_at=now + self.policy.pending_for,
            official=official or None,
        )
        entry = self._entry(
            request, actor, "consent.request", "granted", now=now, request_id=request_id
        )
        self.store.add_request(request, [entry])
        return request

    def request_for_agency(
        self, principal: AgencyPrincipal, request_id: str, http_request_id: str | None = None
    ) -> tuple[ConsentRequest, Consent | None]:
        """The agency's own request and the consent it led to; others are 404.

        Another agency's request answers exactly like a missing one, but the
        attempt is logged as a denial under the citizen it names.
        """
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound("There is no such consent request.")
        if request.agency_id != principal.agency_id:
            self._log_refusal(
                Actor("agency", principal.agency_id),
                "consent.status",
                subject=request.subject,
                purpose=request.purpose,
                http_request_id=http_request_id,
            )
            raise NotFound("There is no such consent request.")
        consent = self.store.get_consent(request.consent_id) if request.consent_id else None
        return request, consent

    # -- citizen side ------------------------------------------------------------

    def requests_of(self, citizen: CitizenPrincipal) -> list[ConsentRequest]:
        return self.store.requests_for(citizen.subjects, limit=_MAX_PAGE)

    def _own_request(
        self,
        citizen: CitizenPrincipal,
        request_id: str,
        action: str,
        http_request_id: str | None,
    ) -> ConsentRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound("There is no such consent request.")
        # Another citizen's request looks exactly like one that does not
        # exist, but the attempt is logged under the citizen it names.
        if request.subject not in citizen.subjects:
            self._log_refusal(
                Actor("citizen", f"afm:{citizen.afm}"),
                action,
                subject=request.subject,
                purpose=request.purpose,
                http_request_id=http_request_id,
            )
            raise NotFound("There is no such consent request.")
        return request

    def _own_consent(
        self,
        citizen: CitizenPrincipal,
        consent_id: str,
        action: str,
        http_request_id: str | None,
    ) -> Consent:
        consent = self.store.get_consent(consent_id)
        if consent is None:
            raise NotFound("There is no such consent.")
        if consent.citizen_afm != citizen.afm:
            self._log_refusal(
                Actor("citizen", f"afm:{citizen.afm}"),
                action,
                subject=consent.subject,
                purpose=consent.purpose,
                consent_id=consent.id,
                http_request_id=http_request_id,
            )
            raise NotFound("There is no such consent.")
        return consent

    def _log_refusal(
        self,
        actor: Actor,
        action: str,
        *,
        subject: str,
        purpose: str,
        http_request_id: str | None,
        consent_id: str | None = None,
    ) -> None:
        """Record that an authenticated caller reached for someone else's consent."""
        self.access_log.record(
            AccessEntry(
                time=self._clock(),
                actor=actor,
                action=action,
                outcome="denied",
                subject=subject,
                purpose=purpose,
                legal_basis="consent",
                consent_id=consent_id,
                reason=NOT_OWNER,
                request_id=http_request_id or new_id(),
            )
        )

    def get_request(
        self, citizen: CitizenPrincipal, request_id: str, http_request_id: str | None = None
    ) -> ConsentRequest:
        return self._own_request(citizen, request_id, "consent.view", http_request_id)

    def preview(
        self, citizen: CitizenPrincipal, request_id: str, http_request_id: str | None = None
    ) -> Preview:
        """Fetch live and minimise what the request would share; nothing is stored."""
        request = self._own_request(citizen, request_id, "consent.preview", http_request_id)
        now = self._clock()
        if request.status(now) != "pending":
            raise Conflict(f"The request is {request.status(now)}; only pending ones preview.")
        if self.fetcher is None:
            raise ServiceUnavailable("Previews need the evidence service.")
        purpose = self.catalog.purposes.get(request.purpose)
        if purpose is None:
            raise Conflict("The request's purpose is no longer in the catalogue.")
        actor = Actor("citizen", f"afm:{citizen.afm}")
        items: list[PreviewItem] = []
        try:
            for evidence_type in request.evidence_types:
                shared = self.fetcher.preview(
                    purpose=purpose,
                    evidence_type=evidence_type,
                    citizen=request.citizen,
                    request_id=http_request_id or new_id(),
                )
                items.append(PreviewItem(evidence_type, tuple(shared), shared))
        except HubError as exc:
            entry = self._entry(
                request, actor, "consent.preview", "error", now=now, request_id=http_request_id
            )
            self.access_log.record(replace(entry, reason=exc.slug, fields=()))
            raise
        fields = tuple(f"{i.evidence_type}.{f}" for i in items for f in i.fields)
        entry = self._entry(
            request, actor, "consent.preview", "granted", now=now, request_id=http_request_id
        )
        self.access_log.record(replace(entry, fields=fields))
        return Preview(request=request, items=tuple(items), fetched_at=now)

    def decide(
        self,
        citizen: CitizenPrincipal,
        request_id: str,
        *,
        approve: bool,
        valid_until: str | dt.datetime | None = None,
        once: bool = False,
        http_request_id: str | None = None,
    ) -> tuple[ConsentRequest, Consent | None]:
        """Approve (until a date, or once) or refuse a pending request."""
        request = self._own_request(citizen, request_id, "consent.decide", http_request_id)
        now = self._clock()
        status = request.status(now)
        if status != "pending":
            raise Conflict(f"The request is already {status}.")
        actor = Actor("citizen", f"afm:{citizen.afm}")
        consent: Consent | None = None
        if approve:
            until = _parse_when(valid_until, "valid_until") or now + self.policy.default_validity
            if until <= now:
                raise ValidationFailed("valid_until must lie in the future.")
            if until > now + self.policy.max_validity:
                days = self.policy.max_validity.days
                raise ValidationFailed(f"A consent may last at most {days} days.")
            consent = Consent(
                id=new_id(),
                request_id=request.id,
                agency_id=request.agency_id,
                purpose=request.purpose,
                evidence_types=request.evidence_types,
                subject=request.subject,
                citizen_afm=citizen.afm,
                citizen_amka=citizen.amka,
                granted_at=now,
                valid_until=until.astimezone(dt.UTC),
                once=once,
            )
            entry = replace(
                self._entry(
                    request, actor, "consent.grant", "granted", now=now, request_id=http_request_id
                ),
                consent_id=consent.id,
            )
            decision: Decision = "approved"
        else:
            entry = replace(
                self._entry(
                    request, actor, "consent.refuse", "denied", now=now, request_id=http_request_id
                ),
                reason="refused-by-citizen",
            )
            decision = "refused"
        if not self.store.decide(
            request.id, decision=decision, decided_at=now, consent=consent, entries=[entry]
        ):
            raise Conflict("The request was decided meanwhile.")
        decided = replace(
            request,
            decision=decision,
            decided_at=now,
            consent_id=consent.id if consent else None,
        )
        return decided, consent

    def consents_of(self, citizen: CitizenPrincipal) -> list[Consent]:
        return self.store.consents_for(citizen.afm, limit=_MAX_PAGE)

    def get_consent(
        self, citizen: CitizenPrincipal, consent_id: str, http_request_id: str | None = None
    ) -> Consent:
        return self._own_consent(citizen, consent_id, "consent.view", http_request_id)

    def revoke(
        self, citizen: CitizenPrincipal, consent_id: str, http_request_id: str | None = None
    ) -> Consent:
        """Revoke: effective for the very next evidence request. Idempotent."""
        consent = self._own_consent(citizen, consent_id, "consent.revoke", http_request_id)
        if consent.revoked_at is not None:
            return consent
        now = self._clock()
        entry = AccessEntry(
            time=now,
            actor=Actor("citizen", f"afm:{citizen.afm}"),
            action="consent.revoke",
            outcome="granted",
            subject=consent.subject,
            purpose=consent.purpose,
            evidence_type=consent.evidence_types[0] if len(consent.evidence_types) == 1 else None,
            legal_basis="consent",
            consent_id=consent.id,
            request_id=http_request_id,
        )
        self.store.revoke(consent.id, at=now, entries=[entry])
        # Re-read: a concurrent revocation may have won; either way it is revoked.
        return self.store.get_consent(consent.id) or replace(consent, revoked_at=now)

    def receipt(
        self, citizen: CitizenPrincipal, consent_id: str, http_request_id: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """The consent receipt and its compact JWS seal."""
        consent = self._own_consent(citizen, consent_id, "consent.receipt", http_request_id)
        if self.keystore is None:
            raise ServiceUnavailable("The hub has no seal key; run 'hub keys init'.")
        now = self._clock()
        body = self.receipt_body(consent, now)
        token = seal_json(body, self.keystore, now=now)
        body["iat"] = int(now.timestamp())
        return body, token

    def receipt_body(self, consent: Consent, now: dt.datetime) -> dict[str, Any]:
        """The Kantara Consent Receipt v1.1 / ISO/IEC TS 27560 fields of a consent."""
        agency = self.catalog.agencies.get(consent.agency_id)
        purpose = self.catalog.purposes.get(consent.purpose)
        description = purpose.description if purpose else consent.purpose
        categories = [
            {
                "evidenceType": et,
                "fields": list(purpose.allowed_fields(et) or ()) if purpose else [],
            }
            for et in consent.evidence_types
        ]
        return {
            "version": RECEIPT_VERSION,
            "jurisdiction": "GR",
            "consentReceiptID": new_id(),
            "consentId": consent.id,
            "consentRequestId": consent.request_id,
            "consentTimestamp": int(consent.granted_at.timestamp()),
            "collectionMethod": (
                "Previewed and explicitly approved by the citizen, signed in with an ID token, "
                "through the hub's citizen API."
            ),
            "language": "el",
            "piiPrincipalId": consent.subject,
            "piiControllers": [
                {
                    "piiController": agency.name if agency else consent.agency_id,
                    "controllerId": consent.agency_id,
                    "onBehalf": False,
                }
            ],
            "services": [
                {
                    "service": consent.purpose,
                    "purposes": [
                        {
                            "purposeId": consent.purpose,
                            "purpose": description,
                            "consentType": "EXPLICIT",
                            "legalBasis": "consent",
                            "piiCategory": categories,
                            "primaryPurpose": True,
                            "termination": _iso(consent.valid_until),
                            "thirdPartyDisclosure": False,
                        }
                    ],
                }
            ],
            "legalBasis": "consent",
            "sensitive": False,
            "spiCat": [],
            "expiry": _iso(consent.valid_until),
            "once": consent.once,
            "status": consent.status(now),
            "revokedAt": _iso(consent.revoked_at),
            "usedAt": _iso(consent.used_at),
        }

    # -- transparency --------------------------------------------------------------

    def hidden_purposes(self) -> tuple[str, ...]:
        """Purposes whose accesses the citizen may not see yet (``hidden_until`` not passed)."""
        today = self._clock().date()
        hidden = []
        for purpose in self.catalog.purposes.values():
            if purpose.hidden_until is None:
                continue
            until = dt.date.fromisoformat(str(purpose.hidden_until))
            if today <= until:
                hidden.append(purpose.id)
        return tuple(hidden)

    def accesses(
        self, citizen: CitizenPrincipal, *, cursor: str | None = None, limit: int | None = None
    ) -> AccessLogPage:
        """Every access to the citizen's data, newest first, denials included."""
        size = _DEFAULT_PAGE if limit is None else limit
        if not 1 <= size <= _MAX_PAGE:
            raise ValidationFailed(f"limit is between 1 and {_MAX_PAGE}")
        below = decode_cursor(cursor) if cursor is not None else None
        rows = self.log_reader.entries_about(
            citizen.subjects, hidden_purposes=self.hidden_purposes(), below=below, limit=size + 1
        )
        items = tuple(rows[:size])
        following = encode_cursor(items[-1].index) if len(rows) > size else None
        return AccessLogPage(items=items, next=following)

    def describe_entry(self, logged: LoggedEntry) -> dict[str, Any]:
        """An access-log entry as the citizen reads it, with names from the catalogue.

        A citizen refused someone else's consent or certificate stays
        anonymous to that someone: their identifier is another person's data
        (the auditor still sees it in the log).
        """
        entry = logged.entry
        actor = dict(entry.get("actor") or {})
        if actor.get("kind") == "citizen" and entry.get("reason") == NOT_OWNER:
            actor["id"] = None
        agency = self.catalog.agencies.get(actor.get("id") or "") if actor else None
        purpose = self.catalog.purposes.get(entry.get("purpose") or "")
        return {
            "index": logged.index,
            "time": entry.get("time"),
            "action": entry.get("action"),
            "outcome": entry.get("outcome"),
            "actor": {
                "kind": actor.get("kind"),
                "id": actor.get("id"),
                "name": agency.name if agency and actor.get("kind") == "agency" else None,
                "official": actor.get("official"),
            },
            "purpose": entry.get("purpose"),
            "purpose_description": purpose.description if purpose else None,
            "legal_basis": entry.get("legal_basis"),
            "consent_id": entry.get("consent_id"),
            "evidence_type": entry.get("evidence_type"),
            "fields": list(entry.get("fields") or []),
            "reason": entry.get("reason"),
            # Version-1 entries have none; the agency's reference links the
            # access to the citizen's own application.
            "case_reference": entry.get("case_reference"),
        }

    # -- helpers --------------------------------------------------------------------

    def fields_of(self, request: ConsentRequest | Consent) -> dict[str, list[str]]:
        """The fields of each evidence type that the purpose would share."""
        purpose = self.catalog.purposes.get(request.purpose)
        return {
            et: list(purpose.allowed_fields(et) or ()) if purpose else []
            for et in request.evidence_types
        }

    def _entry(
        self,
        request: ConsentRequest,
        actor: Actor,
        action: str,
        outcome: Literal["granted", "denied", "error"],
        *,
        now: dt.datetime,
        request_id: str | None,
    ) -> AccessEntry:
        fields = self.fields_of(request)
        return AccessEntry(
            time=now,
            actor=actor,
            action=action,
            outcome=outcome,
            subject=request.subject,
            purpose=request.purpose,
            evidence_type=request.evidence_types[0] if len(request.evidence_types) == 1 else None,
            legal_basis="consent",
            fields=tuple(f"{et}.{f}" for et, names in fields.items() for f in names),
            request_id=request_id,
        )
