"""The once-only exchange, with in-memory registries and access log behind the ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from hub.domain.auditlog.entry import AccessEntry
from hub.domain.auth import AgencyPrincipal
from hub.domain.catalog import Catalog, Purpose
from hub.domain.evidence import (
    EvidenceRequest,
    EvidenceResult,
    EvidenceService,
    IdentityLookup,
    digest,
)
from hub.domain.identity import CitizenRef
from hub.domain.ports import AccessLog, RegistryClient
from hub.errors import (
    BadRequest,
    CitizenNotFound,
    ConsentRequired,
    PurposeNotAllowed,
    RegistryError,
    RegistryUnavailable,
    StorageError,
)

NOW = dt.datetime(2025, 6, 15, 9, 30, tzinfo=dt.UTC)
AFM, AMKA = "090000045", "01019012345"
OPEKA = AgencyPrincipal("opeka", ("benefit", "investigation", "mortgage"), "tok-1")
BANK = AgencyPrincipal("bank-demo", ("mortgage",), "tok-2")

PROPERTY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "properties": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kaek"],
                "properties": {
                    "kaek": {"type": "string", "pattern": "^[0-9]{12}$"},
                    "municipality": {"type": "string"},
                },
            },
        },
        "property_count": {"type": "integer", "minimum": 0},
        "owns_property": {"type": "boolean"},
    },
}
INSURANCE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "insured": {"type": "boolean"},
        "category": {"type": "string"},
        "adult": {"type": "boolean"},
    },
}


def catalog() -> Catalog:
    registry = {"name": "r", "description": "d", "endpoint": "http://r.test"}
    return Catalog.from_documents(
        registries={
            "population": dict(registry, protocol="soap"),
            "land": dict(registry, protocol="rest"),
            "social-security": dict(registry, protocol="soap"),
        },
        evidence_types={
            "property-ownership": {
                "title_el": "Ακίνητα",
                "title_en": "Property",
                "sources": [
                    {
                        "as": "land",
                        "registry": "land",
                        "operation": "PropertiesByOwner",
                        "identifier": "afm",
                    }
                ],
                "schema": PROPERTY_SCHEMA,
                "mapping": {
                    "properties": {
                        "from": "land.properties",
                        "each": {"kaek": "kaek", "municipality": "address.municipality"},
                    },
                    "property_count": {"derive": "count", "from": "land.properties"},
                    "owns_property": {"derive": "non_empty", "from": "land.properties"},
                },
            },
            "insurance-status": {
                "title_el": "Ασφάλιση",
                "title_en": "Insurance",
                "sources": [
                    {
                        "as": "ins",
                        "registry": "social-security",
                        "operation": "GetInsuranceStatus",
                        "identifier": "amka",
                    },
                    {
                        "as": "person",
                        "registry": "population",
                        "operation": "GetPerson",
                        "identifier": "afm",
                        "optional": True,
                    },
                ],
                "schema": INSURANCE_SCHEMA,
                "mapping": {
                    "insured": "ins.insured",
                    "category": "ins.category",
                    "adult": {"derive": "adult", "from": "person.birthDate"},
                },
            },
        },
        agencies={
            "opeka": {"name": "ΟΠΕΚΑ", "kind": "welfare"},
            "bank-demo": {"name": "Bank", "kind": "bank"},
            "municipality-athens": {"name": "Δήμος", "kind": "municipality"},
        },
        purposes={
            "benefit": {
                "description": "Welfare",
                "legal_basis": "Ν. 4756/2020",
                "agencies": ["opeka"],
                "evidence": {
                    "property-ownership": ["property_count", "properties"],
                    "insurance-status": ["insured", "category", "adult"],
                },
            },
            "investigation": {
                "description": "Only insurance",
                "legal_basis": "Ν. 4387/2016",
                "agencies": ["opeka"],
                "evidence": {"insurance-status": ["insured"]},
            },
            "school": {
                "description": "Not OPEKA's",
                "legal_basis": "Ν. 4610/2019",
                "agencies": ["municipality-athens"],
                "evidence": {"property-ownership": ["property_count"]},
            },
            "mortgage": {
                "description": "With consent",
                "consent_required": True,
                "agencies": ["bank-demo", "opeka"],
                "evidence": {"property-ownership": ["property_count"]},
            },
        },
    )


LAND_ANSWER = {
    "owner": {"afm": AFM},
    "properties": [
        {"kaek": "050681726008", "address": {"municipality": "Αθηναίων"}, "right": "full"},
        {"kaek": "190412003005", "address": {"municipality": "Πατρέων"}, "right": "bare"},
    ],
}
PERSON = {"afm": AFM, "amka": AMKA, "firstName": "Μαρία", "birthDate": "1990-01-01"}
INSURANCE = {"amka": AMKA, "insured": True, "category": "employee", "employer": {"afm": "1"}}


class FakeRegistry:
    """A registry that answers from a table and remembers every call."""

    def __init__(self, name: str, answers: Mapping[tuple[str, str], Any] | None = None) -> None:
        self.name = name
        self.answers = dict(answers or {})
        self.calls: list[tuple[str, dict[str, str], str]] = []
        self.failure: Exception | None = None

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        self.calls.append((operation, dict(params), request_id))
        if self.failure is not None:
            raise self.failure
        (value,) = params.values()
        answer = self.answers.get((operation, value))
        if answer is None:
            raise CitizenNotFound("The registry holds no such citizen.")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


class FakeAccessLog:
    def __init__(self) -> None:
        self.entries: list[AccessEntry] = []
        self.failure: Exception | None = None

    def record(self, entry: AccessEntry) -> int:
        if self.failure is not None:
            raise self.failure
        self.entries.append(entry)
        return len(self.entries) - 1 + 100


class ApprovingConsents:
    """Approves every consent; spends one by logging the release (as the store does)."""

    def __init__(self, log: FakeAccessLog) -> None:
        self.asked: list[dict[str, Any]] = []
        self.used: list[str] = []
        self.log = log

    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        self.asked.append({"agency": agency_id, "purpose": purpose.id, "consent": consent_id})
        return consent_id or "consent-123"

    def record_use(self, consent_id: str, entry: AccessEntry) -> int:
        self.used.append(consent_id)
        return self.log.record(entry)


class World:
    def __init__(self) -> None:
        self.population = FakeRegistry(
            "population", {("GetPerson", AFM): PERSON, ("GetPerson", AMKA): PERSON}
        )
        self.land = FakeRegistry("land", {("PropertiesByOwner", AFM): LAND_ANSWER})
        self.social = FakeRegistry("social-security", {("GetInsuranceStatus", AMKA): INSURANCE})
        self.log = FakeAccessLog()
        self.consents = ApprovingConsents(self.log)

    def service(self, *, with_consents: bool = False) -> EvidenceService:
        return EvidenceService(
            catalog=catalog(),
            registries={
                "population": self.population,
                "land": self.land,
                "social-security": self.social,
            },
            access_log=self.log,
            identity=IdentityLookup("population", "GetPerson", "afm", "amka"),
            consents=self.consents if with_consents else None,
            clock=lambda: NOW,
        )

    @property
    def registry_calls(self) -> int:
        return len(self.population.calls) + len(self.land.calls) + len(self.social.calls)


@pytest.fixture
def world() -> World:
    return World()


def ask(
    world: World,
    evidence_type: str = "property-ownership",
    purpose: str = "benefit",
    *,
    principal: AgencyPrincipal = OPEKA,
    citizen: CitizenRef | None = None,
    with_consents: bool = False,
    **extra: Any,
) -> EvidenceResult:
    request = EvidenceRequest(
        citizen=citizen or CitizenRef("afm", AFM),
        evidence_type=evidence_type,
        purpose=purpose,
        official="clerk-7",
        **extra,
    )
    return world.service(with_consents=with_consents).request(principal, request, "req-42")


def the_entry(world: World) -> AccessEntry:
    assert len(world.log.entries) == 1, world.log.entries
    return world.log.entries[0]


def test_the_fakes_implement_the_ports(world: World) -> None:
    assert isinstance(world.land, RegistryClient)
    assert isinstance(world.log, AccessLog)


# -- granted --------------------------------------------------------------------------------


def test_a_granted_request_returns_only_the_allowed_fields(world: World) -> None:
    result = ask(world)
    assert result.evidence == {
        "property_count": 2,
        "properties": [
            {"kaek": "050681726008", "municipality": "Αθηναίων"},
            {"kaek": "190412003005", "municipality": "Πατρέων"},
        ],
    }
    assert "owns_property" not in result.evidence
    assert result.registries == ("land",)
    assert result.request_id == "req-42"
    assert result.legal_basis == "Ν. 4756/2020"
    assert result.issued_at == NOW


def test_a_granted_request_logs_one_entry_with_fields_and_digest(world: World) -> None:
    result = ask(world)
    entry = the_entry(world)
    assert entry.outcome == "granted"
    assert entry.action == "evidence.request"
    assert entry.actor.id == "opeka"
    assert entry.actor.official == "clerk-7"
    assert entry.subject == f"afm:{AFM}"
    assert entry.purpose == "benefit"
    assert entry.evidence_type == "property-ownership"
    assert entry.legal_basis == "Ν. 4756/2020"
    assert entry.fields == ("properties", "property_count")
    assert entry.response_digest == digest(result.evidence)
    assert entry.response_digest.startswith("sha256:")
    assert entry.request_id == "req-42"
    assert entry.reason is None
    assert result.log_index == 100


def test_the_digest_commits_to_the_shared_evidence(world: World) -> None:
    result = ask(world)
    assert digest(result.evidence) != digest({**result.evidence, "property_count": 3})


def test_the_registry_is_asked_with_the_request_id(world: World) -> None:
    ask(world)
    assert world.land.calls == [("PropertiesByOwner", {"afm": AFM}, "req-42")]


# -- denials ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "evidence_type", "principal", "message"),
    [
        ("no-such-purpose", "property-ownership", OPEKA, "no purpose"),
        ("school", "property-ownership", AgencyPrincipal("opeka", ("school",), "t"), "may not"),
        ("investigation", "property-ownership", OPEKA, "does not cover"),
        ("benefit", "property-ownership", AgencyPrincipal("opeka", ("mortgage",), "t"), "may not"),
    ],
    ids=["unknown-purpose", "agency-not-allowed", "type-not-covered", "not-in-token-scope"],
)
def test_policy_denials_are_logged_and_touch_no_registry(
    world: World, purpose: str, evidence_type: str, principal: AgencyPrincipal, message: str
) -> None:
    with pytest.raises(PurposeNotAllowed, match=message):
        ask(world, evidence_type, purpose, principal=principal)
    entry = the_entry(world)
    assert entry.outcome == "denied"
    assert entry.reason == "purpose-not-allowed"
    assert entry.purpose == purpose
    assert entry.fields == ()
    assert entry.response_digest is None
    assert world.registry_calls == 0


def test_an_unknown_evidence_type_is_a_bad_request_and_logged(world: World) -> None:
    with pytest.raises(BadRequest):
        ask(world, "tax-return")
    entry = the_entry(world)
    assert entry.outcome == "denied"
    assert entry.evidence_type == "tax-return"
    assert world.registry_calls == 0


def test_a_consent_purpose_without_consent_is_refused_and_logged(world: World) -> None:
    with pytest.raises(ConsentRequired) as caught:
        ask(world, purpose="mortgage", principal=BANK)
    assert caught.value.type_uri.endswith("consent-required")
    assert caught.value.status == 403
    entry = the_entry(world)
    assert entry.outcome == "denied"
    assert entry.reason == "consent-required"
    assert entry.legal_basis == "consent"
    assert world.registry_calls == 0


def test_a_consent_purpose_with_consent_is_granted_and_names_the_consent(world: World) -> None:
    result = ask(world, purpose="mortgage", principal=BANK, with_consents=True, consent_id="c-9")
    assert world.consents.asked == [
        {"agency": "bank-demo", "purpose": "mortgage", "consent": "c-9"}
    ]
    assert result.evidence == {"property_count": 2}
    assert result.consent_id == "c-9"
    entry = the_entry(world)
    assert entry.outcome == "granted"
    assert entry.legal_basis == "consent"
    assert entry.consent_id == "c-9"
    # The release spent the consent, through the gate, as it was logged.
    assert world.consents.used == ["c-9"]


# -- registry failures ---------------------------------------------------------------------------


def test_a_registry_failure_is_logged_as_error_and_re_raised(world: World) -> None:
    failure = RegistryUnavailable("registry land is failing; its circuit is open")
    world.land.failure = failure
    with pytest.raises(RegistryUnavailable) as caught:
        ask(world)
    assert caught.value is failure
    entry = the_entry(world)
    assert entry.outcome == "error"
    assert entry.reason == "registry-unavailable"
    assert entry.fields == ()


def test_citizen_not_found_in_a_required_source_is_404_and_logged(world: World) -> None:
    other = "094019245"
    with pytest.raises(CitizenNotFound) as caught:
        ask(world, citizen=CitizenRef("afm", other))
    assert caught.value.status == 404
    entry = the_entry(world)
    assert entry.outcome == "denied"
    assert entry.reason == "citizen-not-found"
    assert entry.subject == f"afm:{other}"


def test_citizen_not_found_in_an_optional_source_is_skipped(world: World) -> None:
    # The identity registry knows both numbers, but the optional source does not
    # know this person: the evidence is built without it.
    world.population.answers[("GetPerson", AFM)] = CitizenNotFound()
    world.population.answers[("GetPerson", AMKA)] = PERSON
    result = ask(world, "insurance-status", citizen=CitizenRef("amka", AMKA))
    assert result.evidence == {"insured": True, "category": "employee"}
    assert the_entry(world).outcome == "granted"


def test_an_answer_that_violates_the_schema_shares_nothing(world: World) -> None:
    world.land.answers[("PropertiesByOwner", AFM)] = {
        "properties": [{"kaek": "not-a-kaek", "address": {"municipality": "Αθηναίων"}}]
    }
    with pytest.raises(RegistryError, match="nothing was shared") as caught:
        ask(world)
    assert caught.value.extensions["evidence_type"] == "property-ownership"
    entry = the_entry(world)
    assert entry.outcome == "error"
    assert entry.reason == "registry-error"
    assert entry.response_digest is None
    assert entry.fields == ()


def test_a_schema_violation_in_a_field_not_shared_does_not_block(world: World) -> None:
    world.land.answers[("PropertiesByOwner", AFM)] = {
        "properties": [{"kaek": "not-a-kaek"}],
    }
    result = ask(world, purpose="mortgage", principal=BANK, with_consents=True)
    assert result.evidence == {"property_count": 1}


# -- identity resolution ---------------------------------------------------------------------------


def test_no_identity_call_when_the_request_names_the_needed_identifier(world: World) -> None:
    ask(world)
    assert world.population.calls == []
    assert len(world.land.calls) == 1


def test_identity_is_resolved_once_when_a_source_needs_the_other_identifier(
    world: World,
) -> None:
    result = ask(world, "insurance-status")
    # First the identity call (afm → amka), then the evidence type's own
    # population source, which happens to be the same operation.
    assert world.population.calls == [
        ("GetPerson", {"afm": AFM}, "req-42"),
        ("GetPerson", {"afm": AFM}, "req-42"),
    ]
    assert world.social.calls == [("GetInsuranceStatus", {"amka": AMKA}, "req-42")]
    assert result.evidence == {"insured": True, "category": "employee", "adult": True}
    assert result.registries == ("social-security", "population")


def test_identity_resolution_by_amka(world: World) -> None:
    ask(world, citizen=CitizenRef("amka", AMKA))
    assert world.population.calls == [("GetPerson", {"amka": AMKA}, "req-42")]
    assert world.land.calls == [("PropertiesByOwner", {"afm": AFM}, "req-42")]


def test_an_identity_answer_without_the_other_identifier_is_not_found(world: World) -> None:
    world.population.answers[("GetPerson", AMKA)] = {"amka": AMKA}
    with pytest.raises(CitizenNotFound):
        ask(world, citizen=CitizenRef("amka", AMKA))
    assert world.land.calls == []
    assert the_entry(world).reason == "citizen-not-found"


def test_a_citizen_unknown_to_the_identity_registry_is_not_found(world: World) -> None:
    with pytest.raises(CitizenNotFound):
        ask(world, citizen=CitizenRef("amka", "02029012340"))
    assert world.land.calls == []
    assert the_entry(world).outcome == "denied"


# -- the access log -----------------------------------------------------------------------------


def test_no_result_leaves_when_the_access_log_cannot_record(world: World) -> None:
    world.log.failure = StorageError("the access log is unavailable")
    outcome: EvidenceResult | None = None
    with pytest.raises(StorageError):
        outcome = ask(world)
    assert outcome is None
    assert world.log.entries == []


def test_a_storage_failure_while_logging_a_denial_is_still_an_error(world: World) -> None:
    world.log.failure = StorageError("the access log is unavailable")
    # A refusal that cannot be audited leaves as 503, with the refusal as context.
    with pytest.raises(StorageError) as caught:
        ask(world, purpose="no-such-purpose")
    assert isinstance(caught.value.__context__, PurposeNotAllowed)
    assert world.registry_calls == 0
