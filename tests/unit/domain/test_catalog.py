"""The catalogue: parsing, cross-checks, and the real one under ``specs/catalog``."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.catalog.files import load_catalog
from hub.domain.catalog import Catalog
from hub.errors import ConfigError, ParameterNotAllowed

SPECS_CATALOG = Path(__file__).resolve().parents[3] / "specs" / "catalog"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {"given_name": {"type": "string"}, "adult": {"type": "boolean"}},
}


def documents() -> dict[str, Any]:
    """A small, valid catalogue that each test breaks in one place."""
    return copy.deepcopy(
        {
            "registries": {
                "population": {
                    "name": "Population",
                    "protocol": "soap",
                    "description": "population.wsdl",
                    "endpoint": "http://population.test/",
                },
                "land": {
                    "name": "Land",
                    "protocol": "rest",
                    "description": "land-registry.yaml",
                    "endpoint": "http://land.test",
                    "timeout": 2.5,
                    "retries": 1,
                    "operations": {
                        "PropertiesByOwner": {"method": "GET", "path": "/v1/owners/{afm}"}
                    },
                },
            },
            "evidence_types": {
                "birth-certificate": {
                    "title_el": "Πιστοποιητικό γέννησης",
                    "title_en": "Birth certificate",
                    "sources": [
                        {
                            "as": "birth",
                            "registry": "population",
                            "operation": "GetBirthRecord",
                            "identifier": "afm",
                        }
                    ],
                    "schema": SCHEMA,
                    "mapping": {
                        "given_name": "birth.firstName",
                        "adult": {
                            "expr": "is_date(value) ? years_between(value, today) >= 18 : null",
                            "from": "birth.birthDate",
                        },
                    },
                    "labels": {"adult": ["Ενήλικας", "Adult"]},
                }
            },
            "agencies": {
                "municipality-athens": {"name": "Δήμος Αθηναίων", "kind": "municipality"},
                "bank-demo": {"name": "Demo Bank", "kind": "bank"},
            },
            "purposes": {
                "youth-card": {
                    "description": "Adult check",
                    "legal_basis": "Law 1/2024",
                    "agencies": ["municipality-athens"],
                    "evidence": {"birth-certificate": ["adult"]},
                },
                "bank-check": {
                    "description": "With consent",
                    "consent_required": True,
                    "agencies": ["bank-demo"],
                    "evidence": {"birth-certificate": ["given_name", "adult"]},
                },
            },
        }
    )


def build(docs: dict[str, Any]) -> Catalog:
    return Catalog.from_documents(**docs)


# -- a valid catalogue ------------------------------------------------------------------


def test_a_valid_catalogue_is_parsed() -> None:
    catalog = build(documents())
    land = catalog.registries["land"]
    assert land.protocol == "rest"
    assert land.timeout == 2.5
    assert land.retries == 1
    assert land.operations["PropertiesByOwner"]["path"] == "/v1/owners/{afm}"
    birth = catalog.evidence_types["birth-certificate"]
    assert birth.fields == ("given_name", "adult")
    assert birth.sources[0].name == "birth"
    assert birth.sources[0].optional is False
    assert birth.labels["adult"] == ("Ενήλικας", "Adult")
    youth = catalog.purposes["youth-card"]
    assert youth.allowed_fields("birth-certificate") == ("adult",)
    assert youth.allowed_fields("family-status") is None
    assert youth.allows_agency("municipality-athens")
    assert not youth.allows_agency("bank-demo")
    assert catalog.purposes["bank-check"].consent_required
    assert catalog.purposes["bank-check"].legal_basis is None
    assert catalog.purposes_of("municipality-athens") == ("youth-card",)
    assert catalog.purposes_of("nobody") == ()


# -- cross-checks ------------------------------------------------------------------------


def test_a_source_naming_an_unknown_registry_is_refused() -> None:
    docs = documents()
    docs["evidence_types"]["birth-certificate"]["sources"][0]["registry"] = "tax-office"
    with pytest.raises(ConfigError, match="birth-certificate: unknown registry tax-office"):
        build(docs)


def test_a_source_with_an_unknown_identifier_kind_is_refused() -> None:
    docs = documents()
    docs["evidence_types"]["birth-certificate"]["sources"][0]["identifier"] = "passport"
    with pytest.raises(ConfigError, match="identifier must be one of afm, amka "):
        build(docs)


def test_a_purpose_with_both_legal_basis_and_consent_is_refused() -> None:
    docs = documents()
    docs["purposes"]["youth-card"]["consent_required"] = True
    with pytest.raises(ConfigError, match="youth-card: give either a legal_basis or consent"):
        build(docs)


def test_a_purpose_with_neither_legal_basis_nor_consent_is_refused() -> None:
    docs = documents()
    del docs["purposes"]["youth-card"]["legal_basis"]
    with pytest.raises(ConfigError, match="youth-card: give either"):
        build(docs)


def test_a_purpose_naming_a_field_the_evidence_type_lacks_is_refused() -> None:
    docs = documents()
    docs["purposes"]["youth-card"]["evidence"]["birth-certificate"] = ["adult", "afm", "amka"]
    with pytest.raises(ConfigError, match="birth-certificate has no fields afm, amka"):
        build(docs)


def test_a_purpose_naming_an_unknown_evidence_type_is_refused() -> None:
    docs = documents()
    docs["purposes"]["youth-card"]["evidence"]["tax-return"] = ["income"]
    with pytest.raises(ConfigError, match="unknown evidence type tax-return"):
        build(docs)


def test_a_purpose_naming_an_unknown_agency_is_refused() -> None:
    docs = documents()
    docs["purposes"]["youth-card"]["agencies"].append("ministry-of-truth")
    with pytest.raises(ConfigError, match="unknown agency ministry-of-truth"):
        build(docs)


def test_an_evidence_type_field_without_a_mapping_is_refused() -> None:
    docs = documents()
    del docs["evidence_types"]["birth-certificate"]["mapping"]["adult"]
    with pytest.raises(ConfigError, match="birth-certificate: no mapping for adult"):
        build(docs)


def test_a_registry_with_an_unknown_protocol_is_refused() -> None:
    docs = documents()
    docs["registries"]["land"]["protocol"] = "graphql"
    with pytest.raises(ConfigError, match="registry land: protocol must be soap or rest"):
        build(docs)


@pytest.mark.parametrize(
    ("section", "item", "key", "where"),
    [
        ("registries", "land", "endpoint", "registry land"),
        ("evidence_types", "birth-certificate", "schema", "evidence type birth-certificate"),
        ("evidence_types", "birth-certificate", "title_en", "evidence type birth-certificate"),
        ("agencies", "bank-demo", "kind", "agency bank-demo"),
        ("purposes", "youth-card", "evidence", "purpose youth-card"),
    ],
)
def test_a_missing_required_key_is_named(section: str, item: str, key: str, where: str) -> None:
    docs = documents()
    del docs[section][item][key]
    with pytest.raises(ConfigError, match=f"{where}: '{key}' is required"):
        build(docs)


# -- catalogue files ---------------------------------------------------------------------------


def write_catalog(folder: Path, docs: dict[str, Any], identity: dict[str, str] | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    registries: dict[str, Any] = {"registries": docs["registries"]}
    if identity is not None:
        registries["identity"] = identity
    (folder / "registries.yaml").write_text(yaml.safe_dump(registries), encoding="utf-8")
    (folder / "agencies.yaml").write_text(
        yaml.safe_dump({"agencies": docs["agencies"]}), encoding="utf-8"
    )
    (folder / "purposes.yaml").write_text(
        yaml.safe_dump({"purposes": docs["purposes"]}), encoding="utf-8"
    )
    (folder / "evidence").mkdir(exist_ok=True)
    for tid, original in docs["evidence_types"].items():
        doc = dict(original)
        schema = doc.pop("schema")
        (folder / "evidence" / f"{tid}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        (folder / "evidence" / f"{tid}.schema.json").write_text(
            json.dumps(schema), encoding="utf-8"
        )
    return folder


IDENTITY = {"registry": "population", "operation": "GetPerson", "afm": "afm", "amka": "amka"}


def test_catalogue_files_are_loaded(tmp_path: Path) -> None:
    loaded = load_catalog(write_catalog(tmp_path / "c", documents(), IDENTITY))
    assert set(loaded.catalog.evidence_types) == {"birth-certificate"}
    assert loaded.catalog.evidence_types["birth-certificate"].schema == SCHEMA
    assert loaded.identity.registry == "population"
    assert loaded.identity.afm_path == "afm"


def test_an_invalid_json_schema_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    schema = dict(SCHEMA, type="objekt")
    (folder / "evidence" / "birth-certificate.schema.json").write_text(json.dumps(schema))
    with pytest.raises(ConfigError, match="birth-certificate: invalid JSON Schema"):
        load_catalog(folder)


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        # Python's re reads "\Z"; ECMA-262, which JSON Schema patterns follow, does not.
        ({"properties": {"code": {"type": "string", "pattern": "^[0-9]+\\Z"}}}, "regex"),
        # Nothing is fetched while the catalogue loads.
        ({"$ref": "https://schemas.example/birth.json"}, "Retrieval is disabled"),
    ],
)
def test_a_schema_the_checker_cannot_use_is_refused(
    tmp_path: Path, extra: dict[str, Any], why: str
) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    schema = {**SCHEMA, **extra}
    (folder / "evidence" / "birth-certificate.schema.json").write_text(json.dumps(schema))
    with pytest.raises(ConfigError, match=f"birth-certificate: schema not usable: .*{why}"):
        load_catalog(folder)


def test_a_schema_that_is_not_json_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    (folder / "evidence" / "birth-certificate.schema.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"cannot read birth-certificate\.schema\.json"):
        load_catalog(folder)


def test_a_missing_schema_file_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    (folder / "evidence" / "birth-certificate.schema.json").unlink()
    with pytest.raises(ConfigError, match=r"cannot read birth-certificate\.schema\.json"):
        load_catalog(folder)


def test_a_missing_identity_section_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), None)
    with pytest.raises(ConfigError, match="identity"):
        load_catalog(folder)


@pytest.mark.parametrize("key", ["registry", "operation", "afm", "amka"])
def test_an_incomplete_identity_section_is_refused(tmp_path: Path, key: str) -> None:
    identity = {k: v for k, v in IDENTITY.items() if k != key}
    folder = write_catalog(tmp_path / "c", documents(), identity)
    with pytest.raises(ConfigError, match=f"identity.*{key}"):
        load_catalog(folder)


def test_an_identity_registry_outside_the_catalogue_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), dict(IDENTITY, registry="tax"))
    with pytest.raises(ConfigError, match="identity registry tax is not in the catalogue"):
        load_catalog(folder)


def test_a_yaml_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    (folder / "purposes.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_catalog(folder)


def test_broken_yaml_is_refused(tmp_path: Path) -> None:
    folder = write_catalog(tmp_path / "c", documents(), IDENTITY)
    (folder / "agencies.yaml").write_text("agencies: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read catalogue file"):
        load_catalog(folder)


def test_an_extra_directory_adds_an_evidence_type_without_code(tmp_path: Path) -> None:
    base = write_catalog(tmp_path / "base", documents(), IDENTITY)
    extra_docs = documents()
    extra_type = extra_docs["evidence_types"].pop("birth-certificate")
    extra_type["title_en"] = "Adulthood"
    extra_docs["evidence_types"] = {"adulthood": extra_type}
    extra_docs["purposes"] = {
        "bar-entry": {
            "description": "Age check",
            "legal_basis": "Law 2/2024",
            "agencies": ["municipality-athens"],
            "evidence": {"adulthood": ["adult"]},
        }
    }
    extra = tmp_path / "extra"
    (extra / "evidence").mkdir(parents=True)
    (extra / "purposes.yaml").write_text(yaml.safe_dump({"purposes": extra_docs["purposes"]}))
    schema = extra_type.pop("schema")
    (extra / "evidence" / "adulthood.yaml").write_text(yaml.safe_dump(extra_type))
    (extra / "evidence" / "adulthood.schema.json").write_text(json.dumps(schema))

    loaded = load_catalog(base, [extra])
    assert set(loaded.catalog.evidence_types) == {"birth-certificate", "adulthood"}
    assert set(loaded.catalog.purposes) == {"youth-card", "bank-check", "bar-entry"}


# -- the real catalogue ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> Catalog:
    return load_catalog(SPECS_CATALOG).catalog


def test_the_real_catalogue_loads(real: Catalog) -> None:
    assert set(real.evidence_types) == {
        "birth-certificate",
        "family-status",
        "insurance-status",
        "property-ownership",
    }
    assert set(real.registries) == {"population", "land", "social-security"}
    assert real.purposes["mortgage-application"].consent_required
    assert real.purposes["youth-card"].allowed_fields("birth-certificate") == ("adult",)


def test_every_real_mapping_rule_is_known(real: Catalog) -> None:
    # An expression that did not compile would otherwise surface only at request time.
    from hub.domain.expressions import Expression  # noqa: PLC0415

    def rules(rule: Any) -> list[Any]:
        found = [rule]
        if isinstance(rule, dict):
            for nested in rule.get("each", {}).values():
                found.extend(rules(nested))
        return found

    for evidence_type in real.evidence_types.values():
        sources = {source.name for source in evidence_type.sources}
        for rule in (r for top in evidence_type.mapping.values() for r in rules(top)):
            if isinstance(rule, dict) and "expr" in rule:
                assert isinstance(rule["expr"], Expression), (evidence_type.id, rule)
        for top in evidence_type.mapping.values():
            path = top if isinstance(top, str) else top.get("from", "")
            if path:
                assert path.split(".")[0] in sources, (evidence_type.id, path)


def test_a_copy_of_the_real_catalogue_with_one_break_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(SPECS_CATALOG, folder)
    purposes = yaml.safe_load((folder / "purposes.yaml").read_text(encoding="utf-8"))
    purposes["purposes"]["youth-card"]["evidence"]["birth-certificate"].append("afm")
    (folder / "purposes.yaml").write_text(yaml.safe_dump(purposes), encoding="utf-8")
    with pytest.raises(ConfigError, match="youth-card: birth-certificate has no fields afm"):
        load_catalog(folder)


# -- purpose parameters -------------------------------------------------------------------


def _with_parameters(rule: Any, jurisdiction: Any = None) -> dict[str, Any]:
    docs = documents()
    if jurisdiction is not None:
        docs["agencies"]["municipality-athens"]["jurisdiction"] = jurisdiction
    docs["purposes"]["youth-card"]["parameters"] = {"municipality": rule}
    return docs


def test_a_jurisdiction_parameter_takes_only_the_agencys_own_value() -> None:
    catalog = build(_with_parameters({"jurisdiction": "municipality"}, {"municipality": "Αθήνα"}))
    purpose = catalog.purposes["youth-card"]
    athens = catalog.agencies["municipality-athens"]
    assert athens.jurisdiction == {"municipality": "Αθήνα"}
    assert purpose.resolve_parameters(athens, {}) == {"municipality": "Αθήνα"}
    assert purpose.resolve_parameters(athens, {"municipality": " αθηνα "}) == {
        "municipality": "Αθήνα"
    }
    for given in ({"municipality": "Βόλος"}, {"region": "Αττική"}):
        with pytest.raises(ParameterNotAllowed):
            purpose.resolve_parameters(athens, given)
    # An agency that registers no jurisdiction gets nothing through the rule.
    with pytest.raises(ParameterNotAllowed):
        purpose.resolve_parameters(catalog.agencies["bank-demo"], {})


def test_a_closed_set_parameter_takes_only_its_values() -> None:
    catalog = build(_with_parameters({"values": ["Αθήνα", "Πειραιάς"]}))
    purpose = catalog.purposes["youth-card"]
    athens = catalog.agencies["municipality-athens"]
    assert purpose.resolve_parameters(athens, {}) == {}
    assert purpose.resolve_parameters(athens, {"municipality": "ΠΕΙΡΑΙΑΣ"}) == {
        "municipality": "Πειραιάς"
    }
    with pytest.raises(ParameterNotAllowed):
        purpose.resolve_parameters(athens, {"municipality": "Βόλος"})


def test_purposes_without_parameters_refuse_every_parameter() -> None:
    catalog = build(documents())
    with pytest.raises(ParameterNotAllowed):
        catalog.purposes["youth-card"].resolve_parameters(
            catalog.agencies["municipality-athens"], {"municipality": "Αθήνα"}
        )


@pytest.mark.parametrize(
    ("rule", "jurisdiction", "message"),
    [
        ({"jurisdiction": "municipality"}, None, "registers none"),
        ({"jurisdiction": "municipality"}, {"region": "Αττική"}, "registers none"),
        ({"jurisdiction": "municipality", "values": ["x"]}, {"municipality": "x"}, "exactly one"),
        ({}, None, "exactly one"),
        ("municipality", None, "exactly one"),
        ({"values": []}, None, "non-empty list"),
        ({"values": "Αθήνα"}, None, "non-empty list"),
        ({"jurisdiction": ""}, None, "names an agency attribute"),
        ({"values": ["x"], "default": "x"}, None, "only jurisdiction"),
        ({"values": ["x"]}, {"municipality": 3}, "jurisdiction maps"),
    ],
)
def test_bad_parameter_declarations_are_refused(rule: Any, jurisdiction: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(_with_parameters(rule, jurisdiction))


def test_the_real_catalogue_keeps_municipalities_to_their_own() -> None:
    catalog = load_catalog(SPECS_CATALOG).catalog
    check = catalog.purposes["local-property-check"]
    assert check.parameters["municipality"].jurisdiction == "municipality"
    for agency in check.agencies:
        assert "municipality" in catalog.agencies[agency].jurisdiction
