"""The catalogue's codes become words, and every code a page can meet has them."""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path

import pytest

from hub.catalog.files import load_catalog
from hub.certificates.models import VerificationReport
from hub.certificates.service import HOLDER_REQUEST
from hub.domain.auditlog.entry import _KEYS, KNOWN_ACTIONS, ActorKind, Outcome
from hub.domain.catalog import Catalog
from hub.domain.sealing.report import Indication, Status, SubIndication
from hub.web import audit
from hub.web._words import Words
from hub.web.verify import reason_keys

SPECS = Path(__file__).resolve().parents[3] / "specs" / "catalog"
GREEK = re.compile("[α-ωΑ-Ωά-ώ]")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SPECS).catalog


def _schema_fields(schema: typing.Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        properties = schema.get("properties", {})
        found.update(properties)
        children = [*properties.values(), schema.get("items"), *schema.get("$defs", {}).values()]
        for child in children:
            found |= _schema_fields(child)
    return found


def test_every_agency_purpose_and_field_has_words_in_both_languages(catalog: Catalog) -> None:
    for agency in catalog.agencies.values():
        assert agency.labels is not None, agency.id
        assert GREEK.search(agency.labels[0]), agency.id
    for purpose in catalog.purposes.values():
        assert purpose.labels is not None, purpose.id
        assert GREEK.search(purpose.labels[0]), purpose.id
        if purpose.legal_basis:
            assert purpose.legal_basis_labels is not None, purpose.id
    for kind in catalog.evidence_types.values():
        unnamed = _schema_fields(kind.schema) - set(kind.labels)
        assert unnamed == set(), kind.id
        for name, codes in kind.values.items():
            declared = kind.schema["properties"].get(name, {}).get("enum", codes)
            assert set(declared) <= set(codes), name


def test_every_code_the_log_writes_has_words(catalog: Catalog) -> None:
    words = catalog.vocabulary
    assert {*KNOWN_ACTIONS, *audit._EXTRA_ACTIONS} <= set(words["actions"])
    assert set(typing.get_args(Outcome)) <= set(words["outcomes"])
    assert set(typing.get_args(ActorKind)) <= set(words["actors"])
    assert set().union(*_KEYS.values()) <= set(words["entry_fields"])
    assert {"consent", HOLDER_REQUEST} <= set(words["legal_bases"])
    assert {"consent-required", "purpose-not-allowed", "refused-by-citizen"} <= set(
        words["reasons"]
    )
    for section, entries in words.items():
        assert "_other" in entries, section
        for code, (greek, english) in entries.items():
            assert GREEK.search(greek), (section, code)
            assert english.strip(), (section, code)


def test_codes_become_words_in_the_pages_language(catalog: Catalog) -> None:
    el, en = Words(catalog, "el"), Words(catalog, "en")
    assert el.agency("opeka").startswith("ΟΠΕΚΑ")
    assert en.agency("municipality-athens") == "Municipality of Athens"
    assert el.term("actions", "evidence.request") == "Λήψη δεδομένων από φορέα"
    assert el.term("reasons", "consent-required") == "Χρειάζεται η συγκατάθεση του πολίτη"
    assert el.legal_basis("holder-request") == "Αίτηση του ίδιου του κατόχου"
    youth = catalog.purposes["youth-card"]
    assert el.legal_basis(youth.legal_basis, "youth-card").startswith("Δημοτική απόφαση 123/2024")
    assert el.value("birth-certificate", "sex", "M") == "Άνδρας"
    assert en.value("birth-certificate", "sex", "F") == "Female"
    assert el.value("birth-certificate", "birth_date", "1985-03-09") == "09/03/1985"
    assert el.value("birth-certificate", "adult", True) == "Ναι"
    assert el.value("property-ownership", "share_percent", 100.0) == "100"
    assert el.value("property-ownership", "area_m2", 132.5) == "132,5"
    assert en.value("property-ownership", "area_m2", 132.5) == "132.5"
    assert (
        el.field(None, "property-ownership.properties") == "Ακίνητα (Βεβαίωση ακίνητης περιουσίας)"
    )
    assert el.field("family-status", "given_name") == "Όνομα"
    assert el.subject("afm:123456789") == "ΑΦΜ 123456789"
    assert el.actor({"kind": "verifier", "id": "anonymous"}) == "Ελεγκτής εγγράφου: Ανώνυμος"
    assert el.actor({"kind": "agency", "id": "opeka", "official": "clerk-1"}).endswith("(clerk-1)")
    lines = el.value(
        "property-ownership",
        "properties",
        [{"kaek": "123456789012", "right": "usufruct", "acquired_on": "2016-03-26"}],
    )
    assert lines == ["ΚΑΕΚ: 123456789012 · Δικαίωμα: Επικαρπία · Ημερομηνία κτήσης: 26/03/2016"]


def test_a_code_without_words_gets_generic_words_never_itself(catalog: Catalog) -> None:
    el = Words(catalog, "el")
    assert el.term("actions", "robot.dance") == "Άλλη ενέργεια"
    assert el.term("reasons", "brand-new-slug") == "Άλλος λόγος"
    assert el.term("no-such-section", "x") == "Χωρίς ονομασία"
    assert el.purpose("no-such-purpose") == "Άλλος σκοπός"
    assert el.evidence_type("no-such-type") == "Άλλο είδος δεδομένων"
    assert el.field("birth-certificate", "no_such_field") == "Άλλο πεδίο"
    assert el.value("birth-certificate", "sex", "Q") == "Άλλη τιμή"
    assert el.legal_basis("a law nobody listed") == "Άλλη νομική βάση"


def _report(**facts: typing.Any) -> VerificationReport:
    values: dict[str, typing.Any] = {
        "status": Status.INVALID,
        "indication": Indication.TOTAL_FAILED,
        "sub_indication": SubIndication.HASH_FAILURE,
        "format": "pdf",
    }
    values.update(facts)
    return VerificationReport(**values)


def test_failure_reasons_come_from_the_reports_codes() -> None:
    assert reason_keys(_report()) == ["reason_HASH_FAILURE"]
    assert reason_keys(_report(registered=False)) == [
        "reason_HASH_FAILURE",
        "reason_not_registered",
    ]
    revoked = _report(
        status=Status.REVOKED,
        indication=Indication.TOTAL_PASSED,
        sub_indication=None,
        registered=True,
        matches_issued=False,
        revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert reason_keys(revoked) == ["reason_not_as_issued", "reason_revoked"]
    valid = _report(status=Status.VALID, indication=Indication.TOTAL_PASSED, sub_indication=None)
    assert reason_keys(valid) == []
    # A code with no words of its own (a new one, or the catch-all) gets the generic sentence.
    assert reason_keys(_report(sub_indication=SubIndication.GENERIC)) == ["reason_generic"]
    assert reason_keys(_report(sub_indication=None)) == ["reason_generic"]
