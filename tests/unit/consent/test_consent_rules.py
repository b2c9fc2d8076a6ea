"""Every rule of consent, on the real consent store (SQLite, or PostgreSQL in CI).

The registries are replaced by a preview fetcher that records its calls; the
clock is a hand-moved :class:`~tests.common.consent.Clock`, so expiry and
``hidden_until`` are tested by travelling in time, not by waiting.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.catalog.files import load_catalog
from hub.consent.models import ConsentPolicy
from hub.consent.ports import CitizenLogReader, ConsentStore
from hub.consent.service import CONSENT_REQUEST_ENDPOINT, ConsentService, StoredConsentGate
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.catalog import Purpose
from hub.domain.identity import CitizenRef
from hub.domain.sealing import keystore as keystore_files
from hub.domain.sealing.jws import verify_jws
from hub.errors import (
    BadRequest,
    Conflict,
    ConsentRequired,
    NotFound,
    PurposeNotAllowed,
    RegistryUnavailable,
    ValidationFailed,
)
from hub.evidence.ports import ConsentGate
from hub.persistence import migrate
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.consents import SqlConsentStore
from hub.persistence.db import Database
from tests.common.consent import SPECS, Clock

A = CitizenPrincipal(afm="090000045", amka="01019012345", name="Α. Πολίτης")
B = CitizenPrincipal(afm="123456783", amka="02029012340", name="Β. Πολίτρια")
BANK = AgencyPrincipal("bank-demo", ("mortgage-application",), "tok-bank")
OPEKA = AgencyPrincipal(
    "opeka",
    ("social-benefit-eligibility", "benefit-fraud-investigation", "mortgage-application"),
    "tok-opeka",
)
MORTGAGE = "mortgage-application"
PROPERTY, INSURANCE = "property-ownership", "insurance-status"


class FakeFetcher:
    """Stands in for the evidence service's live fetch."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, CitizenRef]] = []
        self.failure: Exception | None = None

    def preview(
        self, *, purpose: Purpose, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        self.calls.append((purpose.id, evidence_type, citizen))
        allowed = purpose.allowed_fields(evidence_type) or ()
        return {name: f"value of {name}" for name in allowed}


class World:
    def __init__(self, database_url: str, keys_dir: Path) -> None:
        self.db = Database(database_url)
        migrate.upgrade(self.db)
        self.clock = Clock(dt.datetime.now(dt.UTC).replace(microsecond=0))
        self.log = SqlAccessLog(self.db)
        self.store = SqlConsentStore(self.db, self.log)
        self.fetcher = FakeFetcher()
        self.keystore = keystore_files.load(keys_dir)
        self.catalog = load_catalog(SPECS / "catalog").catalog
        self.service = ConsentService(
            catalog=self.catalog,
            store=self.store,
            access_log=self.log,
            log_reader=self.store,
            fetcher=self.fetcher,
            keystore=self.keystore,
            clock=self.clock,
        )
        self.gate = StoredConsentGate(self.store, clock=self.clock)

    def open(
        self,
        citizen: CitizenRef | None = None,
        types: tuple[str, ...] = (PROPERTY,),
        principal: AgencyPrincipal = BANK,
        purpose: str = MORTGAGE,
    ) -> str:
        request = self.service.open_request(
            principal,
            citizen=citizen or CitizenRef("afm", A.afm),
            purpose=purpose,
            evidence_types=types,
            official="officer-1",
        )
        return request.id

    def grant(self, citizen: CitizenPrincipal = A, **decision: Any) -> str:
        request_id = self.open(CitizenRef("afm", citizen.afm))
        _, consent = self.service.decide(citizen, request_id, approve=True, **decision)
        assert consent is not None
        return consent.id

    def authorise(
        self,
        citizen: CitizenRef | None = None,
        evidence_type: str = PROPERTY,
        agency: str = "bank-demo",
        consent_id: str | None = None,
    ) -> str:
        return self.gate.authorise(
            agency_id=agency,
            purpose=self.catalog.purposes[MORTGAGE],
            evidence_type=evidence_type,
            citizen=citizen or CitizenRef("afm", A.afm),
            consent_id=consent_id,
        )

    def use(self, consent_id: str) -> int:
        entry = AccessEntry(
            time=self.clock(),
            actor=Actor("agency", "bank-demo"),
            action="evidence.request",
            outcome="granted",
            subject=f"afm:{A.afm}",
            purpose=MORTGAGE,
            evidence_type=PROPERTY,
            legal_basis="consent",
            consent_id=consent_id,
        )
        return self.gate.record_use(consent_id, entry)

    def entries(self) -> list[dict[str, Any]]:
        from sqlalchemy import select  # noqa: PLC0415

        from hub.persistence.models import AuditEntryRow  # noqa: PLC0415

        with self.db.session() as session:
            rows = session.scalars(select(AuditEntryRow.entry).order_by(AuditEntryRow.idx))
            return [json.loads(row) for row in rows]


@pytest.fixture
def world(database_url: str, keys_dir: Path) -> Iterator[World]:
    w = World(database_url, keys_dir)
    yield w
    w.db.dispose()


def test_the_implementations_fit_their_ports(world: World) -> None:
    assert isinstance(world.store, ConsentStore)
    assert isinstance(world.store, CitizenLogReader)
    gate: ConsentGate = world.gate
    assert gate is world.gate


# -- requests ---------------------------------------------------------------------------------


def test_an_agency_opens_a_pending_request_and_it_is_logged(world: World) -> None:
    request_id = world.open(types=(PROPERTY, INSURANCE))
    request, consent = world.service.request_for_agency(BANK, request_id)
    assert request.status(world.clock()) == "pending"
    assert consent is None
    assert len(request_id) == 32
    assert int(request_id, 16) >= 0
    (entry,) = world.entries()
    assert entry["action"] == "consent.request"
    assert entry["outcome"] == "granted"
    assert entry["actor"] == {"kind": "agency", "id": "bank-demo", "official": "officer-1"}
    assert entry["subject"] == f"afm:{A.afm}"
    assert entry["legal_basis"] == "consent"
    assert "property-ownership.property_count" in entry["fields"]


def test_a_legal_basis_purpose_never_creates_a_consent_record(world: World) -> None:
    with pytest.raises(PurposeNotAllowed, match="legal basis"):
        world.open(principal=OPEKA, purpose="social-benefit-eligibility")
    assert world.service.requests_of(A) == []
    (entry,) = world.entries()
    assert entry["action"] == "consent.request"
    assert entry["outcome"] == "denied"
    assert entry["reason"] == "purpose-not-allowed"


@pytest.mark.parametrize(
    ("principal", "types", "error"),
    [
        (OPEKA, (PROPERTY,), PurposeNotAllowed),  # the purpose does not list opeka
        (BANK, ("birth-certificate",), PurposeNotAllowed),  # not covered by the purpose
        (BANK, ("no-such-type",), BadRequest),
        (AgencyPrincipal("bank-demo", (), "t"), (PROPERTY,), PurposeNotAllowed),  # not in scope
    ],
)
def test_requests_outside_the_purpose_are_refused(
    world: World, principal: AgencyPrincipal, types: tuple[str, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        world.open(principal=principal, types=types)
    assert world.service.requests_of(A) == []


def test_another_agency_cannot_read_a_request(world: World) -> None:
    request_id = world.open()
    with pytest.raises(NotFound):
        world.service.request_for_agency(OPEKA, request_id, "http-1")
    refused = world.entries()[-1]
    assert (refused["action"], refused["outcome"], refused["reason"]) == (
        "consent.status",
        "denied",
        "not-owner",
    )
    assert refused["actor"]["id"] == "opeka"
    assert refused["subject"] == f"afm:{A.afm}"
    assert refused["request_id"] == "http-1"
    logged = len(world.entries())
    with pytest.raises(NotFound):
        world.service.request_for_agency(BANK, "f" * 32)
    assert len(world.entries()) == logged


def test_a_pending_request_lapses(world: World) -> None:
    request_id = world.open()
    world.clock.travel(days=31)
    assert world.service.get_request(A, request_id).status(world.clock()) == "expired"
    with pytest.raises(Conflict):
        world.service.decide(A, request_id, approve=True)


# -- decisions -------------------------------------------------------------------------------


def test_approval_defaults_to_ninety_days(world: World) -> None:
    consent = world.service.get_consent(A, world.grant())
    assert consent.valid_until == world.clock() + dt.timedelta(days=90)
    assert consent.status(world.clock()) == "active"
    assert not consent.once
    grant = world.entries()[-1]
    assert grant["action"] == "consent.grant"
    assert grant["actor"]["kind"] == "citizen"
    assert grant["consent_id"] == consent.id


@pytest.mark.parametrize("days", [-1, 0, 366])
def test_approval_must_end_in_the_future_within_a_year(world: World, days: int) -> None:
    request_id = world.open()
    until = world.clock() + dt.timedelta(days=days)
    with pytest.raises(ValidationFailed):
        world.service.decide(A, request_id, approve=True, valid_until=until.isoformat())
    assert world.service.get_request(A, request_id).status(world.clock()) == "pending"


def test_valid_until_needs_a_time_zone(world: World) -> None:
    with pytest.raises(ValidationFailed):
        world.service.decide(A, world.open(), approve=True, valid_until="2030-01-01T00:00:00")


def test_a_refusal_creates_no_consent_and_is_logged(world: World) -> None:
    request_id = world.open()
    request, consent = world.service.decide(A, request_id, approve=False)
    assert consent is None
    assert request.status(world.clock()) == "refused"
    assert world.service.consents_of(A) == []
    refusal = world.entries()[-1]
    assert refusal["action"] == "consent.refuse"
    assert refusal["outcome"] == "denied"
    with pytest.raises(ConsentRequired):
        world.authorise()


def test_a_request_is_decided_once(world: World) -> None:
    request_id = world.open()
    world.service.decide(A, request_id, approve=False)
    with pytest.raises(Conflict):
        world.service.decide(A, request_id, approve=True)
    assert world.service.consents_of(A) == []


# -- enforcement -------------------------------------------------------------------------------


def test_without_consent_the_gate_refuses_and_says_how_to_ask(world: World) -> None:
    world.open()  # asked, not yet approved
    with pytest.raises(ConsentRequired) as caught:
        world.authorise()
    assert caught.value.extensions["consent_request_endpoint"] == CONSENT_REQUEST_ENDPOINT


def test_a_consent_covers_exactly_its_agency_evidence_and_citizen(world: World) -> None:
    consent_id = world.grant()
    assert world.authorise() == consent_id
    # By AMKA too: the consent keeps both identifiers of the citizen who gave it.
    assert world.authorise(CitizenRef("amka", A.amka or "")) == consent_id
    with pytest.raises(ConsentRequired):
        world.authorise(evidence_type=INSURANCE)
    with pytest.raises(ConsentRequired):
        world.authorise(agency="opeka")
    with pytest.raises(ConsentRequired):
        world.authorise(CitizenRef("afm", B.afm))


def test_a_named_consent_must_match(world: World) -> None:
    consent_id = world.grant()
    other = world.grant(B)
    assert world.authorise(consent_id=consent_id) == consent_id
    with pytest.raises(ConsentRequired):
        world.authorise(consent_id=other)  # B's consent does not cover A
    with pytest.raises(ConsentRequired):
        world.authorise(consent_id="0" * 32)


def test_a_consent_expires(world: World) -> None:
    consent_id = world.grant(valid_until=(world.clock() + dt.timedelta(days=2)).isoformat())
    world.clock.travel(days=1)
    assert world.authorise() == consent_id
    world.clock.travel(days=1)
    with pytest.raises(ConsentRequired):
        world.authorise()
    with pytest.raises(ConsentRequired):
        world.use(consent_id)
    assert world.service.get_consent(A, consent_id).status(world.clock()) == "expired"


def test_a_one_time_consent_serves_exactly_one_request(world: World) -> None:
    consent_id = world.grant(once=True)
    assert world.authorise() == consent_id
    # Two requests passed the check; only the first to record its release wins.
    assert world.authorise() == consent_id
    index = world.use(consent_id)
    with pytest.raises(ConsentRequired):
        world.use(consent_id)
    with pytest.raises(ConsentRequired):
        world.authorise()
    consent = world.service.get_consent(A, consent_id)
    assert consent.status(world.clock()) == "used"
    assert consent.use_count == 1
    granted = [e for e in world.entries() if e["action"] == "evidence.request"]
    assert len(granted) == 1
    assert index == len(world.entries()) - 1


def test_a_lasting_consent_is_preferred_over_a_one_time_one(world: World) -> None:
    once = world.grant(once=True)
    lasting = world.grant()
    assert world.authorise() == lasting
    world.service.revoke(A, lasting)
    assert world.authorise() == once


def test_revocation_is_effective_for_the_very_next_request(world: World) -> None:
    consent_id = world.grant()
    assert world.authorise() == consent_id
    world.use(consent_id)
    world.service.revoke(A, consent_id)
    with pytest.raises(ConsentRequired):
        world.authorise()


def test_a_revocation_between_check_and_release_wins(world: World) -> None:
    consent_id = world.grant()
    assert world.authorise() == consent_id  # the evidence request passed the check…
    world.service.revoke(A, consent_id)  # …the citizen revokes while it fetches…
    with pytest.raises(ConsentRequired):
        world.use(consent_id)  # …and nothing is released.
    assert not [e for e in world.entries() if e["action"] == "evidence.request"]


def test_revocation_is_logged_once_and_is_idempotent(world: World) -> None:
    consent_id = world.grant()
    first = world.service.revoke(A, consent_id)
    second = world.service.revoke(A, consent_id)
    assert first.revoked_at is not None
    assert second.revoked_at == first.revoked_at
    revokes = [e for e in world.entries() if e["action"] == "consent.revoke"]
    assert len(revokes) == 1
    assert revokes[0]["consent_id"] == consent_id


# -- another citizen -------------------------------------------------------------------------------


def test_another_citizen_sees_none_of_it(world: World) -> None:
    request_id = world.open()
    consent_id = world.grant()
    assert world.service.requests_of(B) == []
    assert world.service.consents_of(B) == []
    for attempt in (
        lambda: world.service.get_request(B, request_id),
        lambda: world.service.preview(B, request_id),
        lambda: world.service.decide(B, request_id, approve=True),
        lambda: world.service.get_consent(B, consent_id),
        lambda: world.service.revoke(B, consent_id),
        lambda: world.service.receipt(B, consent_id),
    ):
        logged = len(world.entries())
        with pytest.raises(NotFound):
            attempt()
        # Each attempt is one denial, under A, naming B.
        (refused,) = world.entries()[logged:]
        assert (refused["outcome"], refused["reason"]) == ("denied", "not-owner")
        assert refused["actor"] == {"kind": "citizen", "id": f"afm:{B.afm}", "official": None}
        assert refused["subject"] == f"afm:{A.afm}"
    assert world.service.get_request(A, request_id).status(world.clock()) == "pending"
    assert world.service.get_consent(A, consent_id).revoked_at is None
    assert world.service.accesses(B).items == ()
    # A sees the attempts, without B's identifier.
    attempts = [
        world.service.describe_entry(e)
        for e in world.service.accesses(A).items
        if e.entry["reason"] == "not-owner"
    ]
    assert len(attempts) == 6
    assert all(a["actor"]["id"] is None for a in attempts)


def test_a_request_by_amka_reaches_the_citizen_by_amka(world: World) -> None:
    request_id = world.open(CitizenRef("amka", A.amka or ""))
    assert [r.id for r in world.service.requests_of(A)] == [request_id]
    assert world.service.requests_of(B) == []


# -- preview -------------------------------------------------------------------------------------


def test_the_preview_is_fetched_live_minimised_and_logged_not_stored(world: World) -> None:
    request_id = world.open(types=(PROPERTY, INSURANCE))
    preview = world.service.preview(A, request_id, "http-1")
    assert [i.evidence_type for i in preview.items] == [PROPERTY, INSURANCE]
    assert set(preview.items[1].evidence) == {
        "insured",
        "category",
        "employer_name",
        "insured_days",
    }
    assert [c[1] for c in world.fetcher.calls] == [PROPERTY, INSURANCE]
    entry = world.entries()[-1]
    assert entry["action"] == "consent.preview"
    assert entry["actor"] == {"kind": "citizen", "id": f"afm:{A.afm}", "official": None}
    assert "insurance-status.employer_name" in entry["fields"]
    assert entry["response_digest"] is None
    # Nothing of the data is kept: no entry holds a previewed value.
    assert "value of" not in json.dumps(world.entries())


def test_a_failed_preview_is_logged_as_an_error(world: World) -> None:
    request_id = world.open()
    world.fetcher.failure = RegistryUnavailable("down")
    with pytest.raises(RegistryUnavailable):
        world.service.preview(A, request_id)
    entry = world.entries()[-1]
    assert (entry["action"], entry["outcome"], entry["reason"]) == (
        "consent.preview",
        "error",
        "registry-unavailable",
    )


def test_only_pending_requests_preview(world: World) -> None:
    request_id = world.open()
    world.service.decide(A, request_id, approve=False)
    with pytest.raises(Conflict):
        world.service.preview(A, request_id)


# -- receipt -------------------------------------------------------------------------------------


def test_the_receipt_carries_the_consent_record_and_verifies(world: World) -> None:
    request_id = world.open(types=(PROPERTY, INSURANCE))
    _, consent = world.service.decide(A, request_id, approve=True, once=True)
    assert consent is not None
    receipt, token = world.service.receipt(A, consent.id)
    report = verify_jws(token, world.keystore.trust())
    assert report.valid, report.reasons
    assert report.payload == receipt
    assert receipt["jurisdiction"] == "GR"
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["consentId"] == consent.id
    assert receipt["consentTimestamp"] == int(consent.granted_at.timestamp())
    assert receipt["piiPrincipalId"] == f"afm:{A.afm}"
    assert receipt["piiControllers"][0]["controllerId"] == "bank-demo"
    assert receipt["piiControllers"][0]["piiController"].startswith("Demo Bank")
    (purpose,) = receipt["services"][0]["purposes"]
    assert purpose["purposeId"] == MORTGAGE
    assert purpose["purpose"].startswith("A mortgage application")
    assert purpose["legalBasis"] == receipt["legalBasis"] == "consent"
    assert purpose["piiCategory"] == [
        {"evidenceType": PROPERTY, "fields": ["property_count", "properties"]},
        {
            "evidenceType": INSURANCE,
            "fields": ["insured", "category", "employer_name", "insured_days"],
        },
    ]
    assert receipt["expiry"] is not None
    assert receipt["once"] is True
    assert receipt["status"] == "active"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert "x5c" in header
    assert header["kid"] in {k["kid"] for k in world.keystore.jwks()["keys"]}


def test_the_receipt_states_a_revocation(world: World) -> None:
    consent_id = world.grant()
    world.service.revoke(A, consent_id)
    receipt, _ = world.service.receipt(A, consent_id)
    assert receipt["status"] == "revoked"
    assert receipt["revokedAt"] is not None


# -- the citizen's access log ------------------------------------------------------------------


def _log_fraud_check(world: World, citizen: CitizenPrincipal) -> None:
    world.log.record(
        AccessEntry(
            time=world.clock(),
            actor=Actor("agency", "opeka", "inspector-3"),
            action="evidence.request",
            outcome="granted",
            subject=f"amka:{citizen.amka}",
            purpose="benefit-fraud-investigation",
            evidence_type=INSURANCE,
            legal_basis="Ν. 4387/2016 — demo reference",
            fields=("insured", "employer_name"),
        )
    )


def test_the_access_log_lists_everything_newest_first_and_pages(world: World) -> None:
    consent_id = world.grant()
    world.use(consent_id)
    world.service.revoke(A, consent_id)
    world.grant(B)
    page = world.service.accesses(A, limit=2)
    actions = [i.entry["action"] for i in page.items]
    assert actions == ["consent.revoke", "evidence.request"]
    assert page.next is not None
    rest = world.service.accesses(A, cursor=page.next, limit=10)
    assert [i.entry["action"] for i in rest.items] == ["consent.grant", "consent.request"]
    assert rest.next is None
    described = world.service.describe_entry(rest.items[1])
    assert described["actor"]["name"].startswith("Demo Bank")
    assert described["purpose_description"].startswith("A mortgage application")
    with pytest.raises(ValidationFailed):
        world.service.accesses(A, cursor="not-a-cursor")
    with pytest.raises(ValidationFailed):
        world.service.accesses(A, limit=0)


def test_hidden_purposes_appear_only_after_their_date(world: World) -> None:
    hidden_until = dt.date.fromisoformat(
        str(world.catalog.purposes["benefit-fraud-investigation"].hidden_until)
    )
    world.clock.now = dt.datetime.combine(hidden_until, dt.time(12), dt.UTC) - dt.timedelta(days=5)
    _log_fraud_check(world, A)
    world.open()
    assert [i.entry["action"] for i in world.service.accesses(A).items] == ["consent.request"]
    world.clock.now = dt.datetime.combine(hidden_until, dt.time(23, 59), dt.UTC)
    assert len(world.service.accesses(A).items) == 1
    world.clock.travel(days=1)
    shown = world.service.accesses(A).items
    assert [i.entry["purpose"] for i in shown] == [MORTGAGE, "benefit-fraud-investigation"]
    assert world.service.accesses(B).items == ()


def test_policy_caps_are_configurable(world: World) -> None:
    world.service.policy = ConsentPolicy(
        default_validity=dt.timedelta(days=1), max_validity=dt.timedelta(days=2)
    )
    consent = world.service.get_consent(A, world.grant())
    assert consent.valid_until == world.clock() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed):
        world.grant(valid_until=(world.clock() + dt.timedelta(days=3)).isoformat())
