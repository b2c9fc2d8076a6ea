"""Identifier kinds declared in the catalogue: their checks, and resolving one into the others."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hub.domain.catalog import Catalog
from hub.domain.identity import (
    BUILTIN_IDENTIFIERS,
    CitizenRef,
    IdentifierSpec,
    is_valid_kaek,
    parse_citizen_ref,
)
from hub.errors import CitizenNotFound, ConfigError, InvalidIdentifier
from hub.evidence.models import EvidenceRequest, IdentityLookup
from hub.evidence.service import EvidenceService
from tests.unit.evidence.test_evidence_service import (
    AFM,
    OPEKA,
    FakeAccessLog,
    FakeRegistry,
    catalog,
)

DECLARED: dict[str, Any] = {
    "adt": {"labels": ["ΑΔΤ", "Identity card number"], "pattern": "[ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ]{1,2}[0-9]{6}"},
    "company_afm": {"labels": ["ΑΦΜ ΝΠ", "Company AFM"], "check": "afm", "subject": "company"},
    "kaek": {"labels": ["ΚΑΕΚ", "KAEK"], "check": "kaek", "subject": "property"},
}


def kinds(declared: dict[str, Any] | None = None) -> dict[str, IdentifierSpec]:
    base = catalog()
    built = Catalog.from_documents(
        registries={
            "population": {
                "name": "p",
                "protocol": "soap",
                "description": "d",
                "endpoint": "http://p.test",
            }
        },
        evidence_types={},
        agencies={},
        purposes={},
        identifiers=DECLARED if declared is None else declared,
    )
    assert set(BUILTIN_IDENTIFIERS) <= set(base.identifiers)
    return dict(built.identifiers)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"adt": "ΑΒ123456"}, "adt"),
        ({"adt": "Κ123456"}, "adt"),
        ({"company_afm": "090000045"}, "company_afm"),
        ({"kaek": "050681726008"}, "kaek"),
        ({"afm": AFM}, "afm"),
    ],
)
def test_a_declared_kind_is_accepted_when_it_passes_its_check(
    data: dict[str, str], kind: str
) -> None:
    assert parse_citizen_ref(data, kinds()) == CitizenRef(kind, next(iter(data.values())))


@pytest.mark.parametrize(
    "data",
    [
        {"adt": "AB123456"},  # Latin letters
        {"adt": "ΑΒ12345"},
        {"adt": "ΑΒ1234567"},
        {"adt": " ΑΒ123456"},
        {"company_afm": "090000046"},  # wrong check digit
        {"kaek": "000681726008"},
        {"kaek": "05068172600"},
        {"kaek": 50681726008},
        {"passport": "X1"},
        {"adt": "ΑΒ123456", "afm": AFM},
    ],
)
def test_a_value_failing_its_check_or_an_undeclared_kind_is_invalid(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_citizen_ref(data, kinds())


def test_afm_and_amka_keep_their_messages() -> None:
    with pytest.raises(InvalidIdentifier, match="AFM is not nine digits"):
        parse_citizen_ref({"afm": "090000046"}, kinds())
    with pytest.raises(InvalidIdentifier, match="AMKA is not eleven digits"):
        parse_citizen_ref({"amka": "1"}, kinds())
    # Without the catalogue's kinds (consents), only AFM and AMKA are known.
    with pytest.raises(InvalidIdentifier, match="exactly one of 'afm', 'amka'"):
        parse_citizen_ref({"adt": "ΑΒ123456"})


def test_kaek_check() -> None:
    assert is_valid_kaek("050681726008")
    assert not is_valid_kaek("05068172600x")
    assert not is_valid_kaek("050000726008")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"labels": ["a", "b"]}, "give a check"),
        ({"labels": ["a", "b"], "check": "mod97"}, "check is one of"),
        ({"labels": ["a", "b"], "pattern": "("}, "does not compile"),
        ({"labels": ["a", "b"], "pattern": "x", "colour": 1}, "unknown keys"),
        (
            {
                "labels": ["a", "b"],
                "pattern": "x",
                "resolve": {"registry": "nope", "operation": "O", "fields": {}},
            },
            "unknown registry",
        ),
        (
            {
                "labels": ["a", "b"],
                "pattern": "x",
                "resolve": {"registry": "population", "operation": "O", "fields": {"vat": "v"}},
            },
            "unknown kind vat",
        ),
    ],
)
def test_an_identifier_that_cannot_be_checked_is_refused(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        kinds({"thing": entry})


def test_afm_keeps_its_own_check() -> None:
    with pytest.raises(ConfigError, match="keep their own checks"):
        kinds({"afm": {"pattern": "[0-9]{9}"}})


def _service(identifiers: dict[str, Any], population: FakeRegistry) -> EvidenceService:
    base = catalog()
    extended = replace(base, identifiers=kinds(identifiers))
    return EvidenceService(
        catalog=extended,
        registries={
            "population": population,
            "land": FakeRegistry("land", {("PropertiesByOwner", AFM): {"properties": []}}),
            "social-security": FakeRegistry("social-security"),
        },
        access_log=FakeAccessLog(),
        identity=IdentityLookup("population", "GetPerson", "afm", "amka"),
    )


def test_a_declared_kind_is_resolved_through_its_registry() -> None:
    # The ID card resolves through the population registry's GetPersonByCard.
    population = FakeRegistry(
        "population", {("GetPersonByCard", "ΑΒ123456"): {"person": {"taxNumber": AFM}}}
    )
    identifiers = {
        "adt": {
            **DECLARED["adt"],
            "resolve": {
                "registry": "population",
                "operation": "GetPersonByCard",
                "fields": {"afm": "person.taxNumber"},
            },
        }
    }
    service = _service(identifiers, population)
    request = EvidenceRequest(
        citizen=CitizenRef("adt", "ΑΒ123456"), evidence_type="property-ownership", purpose="benefit"
    )
    result = service.request(OPEKA, request, "req-1")
    assert result.evidence == {"property_count": 0, "properties": []}
    assert population.calls == [("GetPersonByCard", {"adt": "ΑΒ123456"}, "req-1")]


def test_a_kind_nothing_resolves_finds_no_citizen() -> None:
    population = FakeRegistry("population")
    service = _service(DECLARED, population)
    request = EvidenceRequest(
        citizen=CitizenRef("adt", "ΑΒ123456"), evidence_type="property-ownership", purpose="benefit"
    )
    with pytest.raises(CitizenNotFound):
        service.request(OPEKA, request, "req-2")
    assert population.calls == []


def test_provenance_follows_paths_and_the_answers_an_expression_names() -> None:
    kind = catalog().evidence_types["insurance-status"]
    assert kind.field_sources == {"insured": ("ins",), "category": ("ins",), "adult": ("person",)}
    built = Catalog.from_documents(
        registries={
            "r": {"name": "r", "protocol": "rest", "description": "d", "endpoint": "http://r.test"}
        },
        evidence_types={
            "t": {
                "title_el": "τ",
                "title_en": "t",
                "sources": [
                    {"as": "a", "registry": "r", "operation": "O", "identifier": "afm"},
                    {"as": "b", "registry": "r", "operation": "P", "identifier": "afm"},
                ],
                "schema": {"properties": {"n": {}, "k": {}}},
                "mapping": {"n": {"expr": "size(answers.b.items) + 1"}, "k": {"const": "GR"}},
            }
        },
        agencies={},
        purposes={},
    )
    assert built.evidence_types["t"].field_sources == {"n": ("b",), "k": ()}
