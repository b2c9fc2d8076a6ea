"""The once-only exchange, with in-memory registries and access log behind the ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from hub.audit.ports import AccessLog
from hub.audit.service import DEFAULT_ORIGIN
from hub.auth.models import AgencyPrincipal
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import Catalog, Purpose
from hub.domain.identity import CitizenRef
from hub.errors import (
    BadRequest,
    CitizenNotFound,
    ConsentRequired,
    ParameterNotAllowed,
    PurposeNotAllowed,
    RegistryError,
    RegistryUnavailable,
    StorageError,
    ValidationFailed,
)
from hub.evidence.models import EvidenceRequest, EvidenceResult, IdentityLookup
from hub.evidence.ports import RegistryClient
from hub.evidence.service import EvidenceService, digest

NOW = dt.datetime(2025, 6, 15, 9, 30, tzinfo=dt.UTC)
AFM, AMKA = "090000045", "01019012345"
OPEKA = AgencyPrincipal("opeka", ("benefit", "investigation", "mortgage"), "tok-1")
BANK = AgencyPrincipal("bank-demo", ("mortgage",), "tok-2")
ATHENS = AgencyPrincipal("municipality-athens", ("school", "local"), "tok-3")

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
                    "property_count": {
                        "expr": "type(value) == list ? size(value) : 0",
                        "from": "land.properties",
                    },
                    "owns_property": {
                        "expr": "type(value) == list && size(value) > 0",
                        "from": "land.properties",
                    },
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
                    "adult": {
                        "expr": "is_date(value) ? years_between(value, today) >= 18 : null",
                        "from": "person.birthDate",
                    },
                },
            },
        },
        agencies={
            "opeka": {"name": "ΟΠΕΚΑ", "kind": "welfare"},
            "bank-demo": {"name": "Bank", "kind": "bank"},
            "municipality-athens": {
                "name": "Δήμος",
                "kind": "municipality",
                "jurisdiction": {"municipality": "Αθήνα"},
            },
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
            "local": {
                "description": "A yes or no about the municipality",
                "legal_basis": "Ν. 3852/2010",
                "agencies": ["municipality-athens"],
                "parameters": {"municipality": {"jurisdiction": "municipality"}},
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


# -- accountability: parameters, free text, the seal ------------------------------------------


class RecordingSealer:
    """Seals by remembering the payload and how many entries were logged by then."""

    def __init__(self, log: FakeAccessLog) -> None:
        self.log = log
        self.sealed: list[tuple[dict[str, Any], int]] = []
        self.failure: Exception | None = None

    def seal(self, payload: Mapping[str, Any]) -> str:
        if self.failure is not None:
            raise self.failure
        self.sealed.append((dict(payload), len(self.log.entries)))
        return "sealed"


def test_a_parameter_outside_the_agencys_jurisdiction_is_refused_before_any_registry(
    world: World,
) -> None:
    with pytest.raises(ParameterNotAllowed):
        ask(world, purpose="local", principal=ATHENS, parameters={"municipality": "Βόλος"})
    assert world.registry_calls == 0
    entry = the_entry(world)
    assert entry.outcome == "denied"
    assert entry.reason == "parameter-not-allowed"
    assert entry.parameters == {"municipality": "Βόλος"}


def test_an_undeclared_parameter_is_refused(world: World) -> None:
    with pytest.raises(ParameterNotAllowed):
        ask(world, parameters={"municipality": "Αθήνα"})
    assert world.registry_calls == 0


def test_the_jurisdiction_is_used_and_recorded_in_the_catalogues_spelling(world: World) -> None:
    result = ask(world, purpose="local", principal=ATHENS, parameters={"municipality": "ΑΘΗΝΑ"})
    assert result.parameters == {"municipality": "Αθήνα"}
    assert the_entry(world).parameters == {"municipality": "Αθήνα"}
    world.log.entries.clear()
    assert ask(world, purpose="local", principal=ATHENS).parameters == {"municipality": "Αθήνα"}


@pytest.mark.parametrize("field", ["official", "case_reference"])
@pytest.mark.parametrize("text", ["a\nb", "a\x00b", "a\u202eb", "a\u2067b", "a\u200fb"])
def test_control_characters_are_refused_before_anything_happens(
    world: World, field: str, text: str
) -> None:
    request = EvidenceRequest(
        citizen=CitizenRef("afm", AFM),
        evidence_type="property-ownership",
        purpose="benefit",
        **{field: text},
    )
    with pytest.raises(ValidationFailed, match=field):
        world.service().request(OPEKA, request, "req-1")
    assert world.log.entries == []
    assert world.registry_calls == 0


def test_the_accountability_fields_reach_the_entry(world: World) -> None:
    ask(world, case_reference="ΑΠ-7", client_request_id="theirs-1")
    entry = the_entry(world)
    assert entry.case_reference == "ΑΠ-7"
    assert entry.client_request_id == "theirs-1"
    assert entry.request_id == "req-42"


def test_the_seal_is_made_after_the_entry_and_names_whom_and_why(world: World) -> None:
    service = world.service()
    sealer = RecordingSealer(world.log)
    service.sealer = sealer
    request = EvidenceRequest(
        citizen=CitizenRef("amka", AMKA),
        evidence_type="insurance-status",
        purpose="benefit",
        official="clerk-7",
        case_reference="ΑΠ-7",
        client_request_id="theirs-1",
    )
    result = service.request(OPEKA, request, "req-42")
    ((payload, logged_by_then),) = sealer.sealed
    assert logged_by_then == 1
    entry = the_entry(world).to_json_obj()
    assert result.seal == "sealed"
    assert payload == {
        "citizen": {"amka": AMKA},
        "agency": "opeka",
        "official": "clerk-7",
        "evidence_type": "insurance-status",
        "evidence": result.evidence,
        "purpose": "benefit",
        "legal_basis": "Ν. 4756/2020",
        "consent_id": None,
        "parameters": {},
        "case_reference": "ΑΠ-7",
        "request_id": "req-42",
        "client_request_id": "theirs-1",
        "issued_at": entry["time"],
        "log_origin": DEFAULT_ORIGIN,
        "log_index": result.log_index,
        "provenance": {
            "insured": [{"registry": "social-security", "as_of": None}],
            "category": [{"registry": "social-security", "as_of": None}],
            "adult": [{"registry": "population", "as_of": None}],
        },
    }
    assert result.log_index == 100
    assert entry["response_digest"] == digest(payload["evidence"])


def test_an_answer_that_cannot_be_sealed_is_logged_as_an_error_and_not_returned(
    world: World,
) -> None:
    from hub.domain.sealing.errors import SealingError  # noqa: PLC0415

    service = world.service()
    sealer = RecordingSealer(world.log)
    sealer.failure = SealingError("the seal key is gone")
    service.sealer = sealer
    request = EvidenceRequest(
        citizen=CitizenRef("afm", AFM), evidence_type="property-ownership", purpose="benefit"
    )
    with pytest.raises(SealingError):
        service.request(OPEKA, request, "req-9")
    granted, failed = world.log.entries
    assert (granted.outcome, failed.outcome) == ("granted", "error")
    assert granted.request_id == failed.request_id == "req-9"
