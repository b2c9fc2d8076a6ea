"""From registry answers to evidence documents, and down to what a purpose may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.domain.mapping import apply_mapping, compile_rules, lookup, minimise
from hub.errors import ConfigError, RegistryError

TODAY = dt.date(2025, 6, 15)

LAND = {
    "land": {
        "properties": [
            {
                "kaek": "050681726008",
                "address": {"street": "Ερμού 10", "municipality": "Αθηναίων"},
                "right": "full_ownership",
                "share": {"percent": 100},
            },
            {
                "kaek": "190412003005",
                "address": {"street": "Αγίου Νικολάου 3", "municipality": "ΠΑΤΡΕΩΝ"},
                "right": "bare_ownership",
                "share": {"percent": 50},
            },
        ]
    }
}


# The expressions of the shipped catalogue (specs/catalog/evidence), as rules.
ADULT = "is_date(value) ? years_between(value, today) >= 18 : null"
AGE = "is_date(value) ? years_between(value, today) : null"
COUNT = "type(value) == list ? size(value) : 0"
NON_EMPTY = "type(value) == list && size(value) > 0"
RELATIVE = (
    'type(value) == map ? {"given_name": get(value, "firstName"), "surname": get(value, "surname"),'
    ' "birth_date": get(value, "birthDate"), "alive": get(value, "alive")} : null'
)
IN_MUNICIPALITY = {
    "expr": (
        "has(params.municipality) && type(params.municipality) == string"
        ' && fold(params.municipality) != ""'
        " ? (type(value) == list && value.exists(p,"
        ' fold(get(p, "address.municipality")) == fold(params.municipality))) : null'
    ),
    "from": "land.properties",
}


def one(rule: Any, answers: Any, **params: str) -> Any:
    return apply_mapping({"x": rule}, answers, params=params, today=TODAY).get("x")


# -- paths -------------------------------------------------------------------------------


def test_lookup_follows_dotted_paths() -> None:
    data = {"a": {"b": {"c": 3}}}
    assert lookup(data, "a.b.c") == 3
    assert lookup(data, "a.b") == {"c": 3}


@pytest.mark.parametrize("path", ["a.x.c", "a.b.c.d", "z", "a.b.c.d.e"])
def test_lookup_of_a_missing_step_is_none(path: str) -> None:
    assert lookup({"a": {"b": {"c": 3}}}, path) is None


def test_lookup_does_not_index_into_lists_or_strings() -> None:
    assert lookup({"a": ["zero", "one"]}, "a.0") is None
    assert lookup({"a": "text"}, "a.upper") is None


def test_a_string_rule_is_a_dotted_path() -> None:
    answers = {"ins": {"fund": {"code": "EFKA-M"}}, "other": {"fund": {"code": "NO"}}}
    assert one("ins.fund.code", answers) == "EFKA-M"


def test_a_const_rule() -> None:
    assert one({"const": "GR"}, {}) == "GR"


def test_from_each_maps_every_element() -> None:
    rule = {
        "from": "land.properties",
        "each": {"kaek": "kaek", "municipality": "address.municipality", "share": "share.percent"},
    }
    assert one(rule, LAND) == [
        {"kaek": "050681726008", "municipality": "Αθηναίων", "share": 100},
        {"kaek": "190412003005", "municipality": "ΠΑΤΡΕΩΝ", "share": 50},
    ]


def test_from_each_over_a_missing_or_non_list_source_is_empty() -> None:
    rule = {"from": "land.properties", "each": {"kaek": "kaek"}}
    assert one(rule, {"land": None}) == []
    assert one(rule, {"land": {"properties": {"kaek": "1"}}}) == []


def test_nested_each() -> None:
    answers = {"ins": {"years": [{"y": 2024, "periods": [{"d": 10}, {"d": 20}]}]}}
    rule = {
        "from": "ins.years",
        "each": {"year": "y", "days": {"from": "periods", "each": {"n": "d"}}},
    }
    assert one(rule, answers) == [{"year": 2024, "days": [{"n": 10}, {"n": 20}]}]


# -- pruning ------------------------------------------------------------------------------


def test_absent_values_are_pruned_at_every_level() -> None:
    mapping = {
        "present": "p.name",
        "absent": "p.nothing",
        "list": {"from": "p.items", "each": {"a": "a", "b": "b"}},
    }
    answers = {"p": {"name": "n", "items": [{"a": 1}, {"a": 2, "b": {"deep": None, "k": 1}}]}}
    evidence = apply_mapping(mapping, answers, today=TODAY)
    assert evidence == {"present": "n", "list": [{"a": 1}, {"a": 2, "b": {"k": 1}}]}
    assert "absent" not in evidence


def test_falsy_values_are_kept() -> None:
    mapping = {"insured": "i.insured", "days": "i.days", "name": "i.name", "list": "i.list"}
    answers = {"i": {"insured": False, "days": 0, "name": "", "list": []}}
    assert apply_mapping(mapping, answers, today=TODAY) == {
        "insured": False,
        "days": 0,
        "name": "",
        "list": [],
    }


# -- derivations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "adult"),
    [
        ("2007-06-15", True),  # the 18th birthday is today
        ("2007-06-16", False),  # tomorrow
        ("2007-06-14", True),
        ("1950-01-01", True),
        ("2020-02-29", False),
        ("2007-06-15T00:00:00", True),
    ],
)
def test_adult_at_the_18th_birthday_boundary(birth_date: str, adult: bool) -> None:
    assert one({"expr": ADULT, "from": "p.birthDate"}, {"p": {"birthDate": birth_date}}) is adult


def test_adult_born_on_29_february() -> None:
    rule = {"expr": ADULT, "from": "p.birthDate"}
    answers = {"p": {"birthDate": "2004-02-29"}}
    assert apply_mapping({"x": rule}, answers, today=dt.date(2022, 2, 28))["x"] is False
    assert apply_mapping({"x": rule}, answers, today=dt.date(2022, 3, 1))["x"] is True


@pytest.mark.parametrize("value", [None, "not a date", "2007-13-40", 20070615])
def test_adult_of_no_date_is_absent(value: object) -> None:
    assert one({"expr": ADULT, "from": "p.birthDate"}, {"p": {"birthDate": value}}) is None


def test_age() -> None:
    rule = {"expr": AGE, "from": "p.birthDate"}
    assert one(rule, {"p": {"birthDate": "1990-06-16"}}) == 34
    assert one(rule, {"p": {"birthDate": "1990-06-15"}}) == 35


def test_count_and_non_empty() -> None:
    assert one({"expr": COUNT, "from": "land.properties"}, LAND) == 2
    assert one({"expr": NON_EMPTY, "from": "land.properties"}, LAND) is True
    empty = {"land": {"properties": []}}
    assert one({"expr": COUNT, "from": "land.properties"}, empty) == 0
    assert one({"expr": NON_EMPTY, "from": "land.properties"}, empty) is False
    assert one({"expr": COUNT, "from": "land.properties"}, {"land": None}) == 0
    assert one({"expr": NON_EMPTY, "from": "land.missing"}, LAND) is False


@pytest.mark.parametrize(
    ("municipality", "owns"),
    [
        ("Αθηναίων", True),
        ("αθηναίων", True),
        ("ΑΘΗΝΑΙΩΝ", True),
        ("Πατρέων", True),
        ("Θεσσαλονίκης", False),
        ("patras", False),
        ("Αθηνα", False),
    ],
)
def test_owns_property_in_municipality_is_case_insensitive(municipality: str, owns: bool) -> None:
    rule = IN_MUNICIPALITY
    assert one(rule, LAND, municipality=municipality) is owns


def test_owns_property_in_municipality_with_no_properties_is_false() -> None:
    assert one(IN_MUNICIPALITY, {"land": {"properties": []}}, municipality="Αθηναίων") is False
    assert one(IN_MUNICIPALITY, {"land": None}, municipality="Αθηναίων") is False


def test_owns_property_in_municipality_needs_the_parameter() -> None:
    rule = IN_MUNICIPALITY
    assert one(rule, LAND) is None
    assert one(rule, LAND, municipality="") is None
    assert one(rule, LAND, municipality="  ") is None
    # A property with no municipality never matches a blank one either.
    assert one(rule, {"land": {"properties": [{"kaek": "1"}]}}, municipality=" ") is None


def test_relative_keeps_names_and_dates_but_never_identifiers() -> None:
    father = {
        "afm": "090000045",
        "amka": "01016012345",
        "firstName": "Γεώργιος",
        "surname": "Παπαδόπουλος",
        "birthDate": "1960-01-01",
        "alive": True,
    }
    relative = one({"expr": RELATIVE, "from": "f.father"}, {"f": {"father": father}})
    assert relative == {
        "given_name": "Γεώργιος",
        "surname": "Παπαδόπουλος",
        "birth_date": "1960-01-01",
        "alive": True,
    }
    assert one({"expr": RELATIVE, "from": "f.father"}, {"f": {"father": "x"}}) is None


def test_relative_prunes_what_the_registry_did_not_say() -> None:
    mother = {"firstName": "Ελένη", "surname": "Κ."}
    assert one({"expr": RELATIVE, "from": "f.mother"}, {"f": {"mother": mother}}) == {
        "given_name": "Ελένη",
        "surname": "Κ.",
    }


# -- fields derived from one answer -----------------------------------------------------------


def test_fields_derived_from_one_answer_are_what_each_would_be_alone() -> None:
    # Compiled expressions with the same source share one conversion of it;
    # each still sees only its own inputs, and the document keeps the mapping's order.
    mapping = compile_rules(
        {
            "count": {"expr": COUNT, "from": "land.properties"},
            "kind": {"const": "land"},
            "non_empty": {"expr": NON_EMPTY, "from": "land.properties"},
            "adult": {"expr": ADULT, "from": "p.birthDate"},
            "in_municipality": IN_MUNICIPALITY,
            "age": {"expr": AGE, "from": "p.birthDate"},
            "street": "p.street",
        }
    )
    answers = {**LAND, "p": {"birthDate": "2010-01-01"}}
    for params in ({}, {"municipality": "Πατρέων"}, {"municipality": "Βόλου"}):
        together = apply_mapping(mapping, answers, params=params, today=TODAY)
        alone = {name: one(rule, answers, **params) for name, rule in mapping.items()}
        assert together == {name: value for name, value in alone.items() if value is not None}
        assert list(together) == [name for name in mapping if name in together]
    assert apply_mapping(mapping, {}, today=TODAY) == {
        "count": 0,
        "kind": "land",
        "non_empty": False,
    }


def test_an_answer_one_field_of_a_shared_source_cannot_read_is_a_registry_error() -> None:
    mapping = compile_rules(
        {
            "count": {"expr": COUNT, "from": "land.properties"},
            "first": {"expr": "value[0].kaek", "from": "land.properties"},
        }
    )
    assert apply_mapping(mapping, LAND, today=TODAY) == {"count": 2, "first": "050681726008"}
    with pytest.raises(RegistryError):
        apply_mapping(mapping, {"land": {"properties": []}}, today=TODAY)


# -- rule errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"expr": "shoe_size(value)", "from": "p"}, "unknown functions"),
        ({"expr": "value +", "from": "p"}, "does not parse"),
        ({"expr": "1", "from": "p", "with": {}}, "only expr and from"),
        ({"from": "p"}, "needs from\\+each"),
        (42, "must be a path or an object"),
    ],
)
def test_bad_rules_are_config_errors(rule: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        one(rule, {"p": {}})


# -- minimisation -------------------------------------------------------------------------------


def test_minimise_keeps_only_allowed_fields() -> None:
    evidence = {"adult": True, "birth_date": "2000-01-01", "given_name": "Μ", "surname": "Π"}
    assert minimise(evidence, ("adult",)) == {"adult": True}


def test_minimise_ignores_allowed_fields_that_are_absent() -> None:
    assert minimise({"a": 1, "b": 2}, ("b", "c")) == {"b": 2}
    assert minimise({"a": 1}, ()) == {}
