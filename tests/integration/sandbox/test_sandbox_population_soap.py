"""The population registry over real HTTP, called by zeep from the WSDL on disk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from lxml import etree
from zeep.exceptions import Fault

from adapters.sandbox.population import Citizen, Population
from adapters.sandbox.runner import SandboxHandle

NS = "urn:gr:sandbox:population:v1"
SoapFactory = Callable[..., Any]


def _fault_code(fault: Fault) -> str:
    return str(fault.detail.findtext(f"{{{NS}}}RegistryFault/{{{NS}}}code"))


@pytest.fixture
def service(sandbox: SandboxHandle, soap_service: SoapFactory) -> object:
    return soap_service("population.wsdl", sandbox.urls["population"])


def _married_with_children(sandbox: SandboxHandle) -> Citizen:
    return next(
        c for c in sandbox.population if c.marital_status == "married" and c.children and c.alive
    )


def test_get_person_by_afm_and_by_amka(sandbox: SandboxHandle, service: object) -> None:
    citizen = sandbox.population.citizen(7)
    for query in ({"afm": citizen.afm}, {"amka": citizen.amka}):
        person = service.GetPerson(**query)  # type: ignore[attr-defined]
        assert person.afm == citizen.afm
        assert person.amka == citizen.amka
        assert person.firstName == citizen.first_name
        assert person.surnameLatin == citizen.surname_latin
        assert person.fatherName == citizen.father_name
        assert person.motherNameLatin == citizen.mother_name_latin
        assert person.sex == citizen.sex
        assert person.birthDate == citizen.birth_date
        assert person.alive is citizen.alive


def test_a_deceased_person_has_a_death_date(sandbox: SandboxHandle, service: object) -> None:
    dead = next(c for c in sandbox.population if not c.alive)
    person = service.GetPerson(amka=dead.amka)  # type: ignore[attr-defined]
    assert person.alive is False
    assert person.deathDate == dead.death_date


def test_birth_record(sandbox: SandboxHandle, service: object) -> None:
    parent = _married_with_children(sandbox)
    child = sandbox.population.citizen(parent.children[0])
    record = service.GetBirthRecord(afm=child.afm)  # type: ignore[attr-defined]
    assert record.birthDate == child.birth_date
    assert record.birthPlace.municipality == child.birth_place.name
    assert record.birthPlace.municipalityLatin == child.birth_place.name_latin
    assert record.registration.registrationNumber == child.registration.number
    assert record.registration.year == child.birth_date.year
    assert record.father.firstName == child.father_name
    assert record.father.afm == sandbox.population.citizen(child.father).afm  # type: ignore[arg-type]
    assert record.mother.surname == child.mother_surname


def test_family_status(sandbox: SandboxHandle, service: object) -> None:
    parent = _married_with_children(sandbox)
    status = service.GetFamilyStatus(amka=parent.amka)  # type: ignore[attr-defined]
    assert status.maritalStatus == "married"
    assert status.spouse.afm == sandbox.population.citizen(parent.spouse).afm  # type: ignore[arg-type]
    children = status.children.child
    assert [c.amka for c in children] == [
        sandbox.population.citizen(i).amka for i in parent.children
    ]
    assert all(isinstance(c.birthDate, dt.date) for c in children)
    # Parents outside the registry are given by name only.
    assert status.father.firstName == parent.father_name
    assert status.father.afm is None


def test_a_widow_sees_the_late_spouse(sandbox: SandboxHandle, service: object) -> None:
    widow = next(
        c for c in sandbox.population if c.marital_status == "widowed" and c.spouse is not None
    )
    status = service.GetFamilyStatus(afm=widow.afm)  # type: ignore[attr-defined]
    assert status.maritalStatus == "widowed"
    assert status.spouse.alive is False
    assert status.spouse.deathDate is not None


def test_unknown_person_is_a_not_found_fault(service: object) -> None:
    stranger = Population(10_000, 2026).citizen(9_999)
    with pytest.raises(Fault) as caught:
        service.GetPerson(afm=stranger.afm)  # type: ignore[attr-defined]
    assert _fault_code(caught.value) == "NOT_FOUND"
    assert caught.value.code == "soap:Client"


@pytest.mark.parametrize(
    "query",
    [{"afm": "123456789"}, {"amka": "01019912346"}, {}, {"afm": "090000045", "amka": "1"}],
)
def test_invalid_input_is_an_invalid_input_fault(service: object, query: dict[str, str]) -> None:
    with pytest.raises(Fault) as caught:
        service.GetFamilyStatus(**query)  # type: ignore[attr-defined]
    assert _fault_code(caught.value) == "INVALID_INPUT"


def test_the_wsdl_is_served_with_the_real_address(
    sandbox: SandboxHandle, http: requests.Session
) -> None:
    response = http.get(sandbox.urls["population"] + "/?wsdl", timeout=5)
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None
    assert address.get("location") == sandbox.urls["population"] + "/"


def _post(http: requests.Session, url: str, body: bytes) -> requests.Response:
    return http.post(
        url + "/", data=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=5
    )


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE soap:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
        b'<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/x.dtd">',
    ],
)
def test_requests_with_a_dtd_are_refused(
    sandbox: SandboxHandle, http: requests.Session, doctype: bytes
) -> None:
    body = (
        b'<?xml version="1.0"?>' + doctype + b'<soap:Envelope xmlns:soap="'
        b'http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<p:GetPersonRequest xmlns:p="urn:gr:sandbox:population:v1"><p:afm>&x;</p:afm>'
        b"</p:GetPersonRequest></soap:Body></soap:Envelope>"
    )
    response = _post(http, sandbox.urls["population"], body)
    assert response.status_code == 500
    assert b"INVALID_INPUT" in response.content
    assert b"root:" not in response.content


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<a><b></a>",
        b'<Envelope xmlns="urn:other"><Body/></Envelope>',
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<p:Unknown xmlns:p="urn:gr:sandbox:population:v1"/></soap:Body></soap:Envelope>',
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
    ],
)
def test_malformed_requests_are_client_faults(
    sandbox: SandboxHandle, http: requests.Session, body: bytes
) -> None:
    response = _post(http, sandbox.urls["population"], body)
    assert response.status_code == 500
    fault = etree.fromstring(response.content).find(".//faultcode")
    assert fault is not None
    assert fault.text == "soap:Client"
    assert b"INVALID_INPUT" in response.content


def test_an_oversized_request_is_refused(sandbox: SandboxHandle, http: requests.Session) -> None:
    response = _post(http, sandbox.urls["population"], b"<a>" + b"x" * 70_000 + b"</a>")
    assert response.status_code == 413
    assert b"INVALID_INPUT" in response.content


def test_other_paths_and_methods(sandbox: SandboxHandle, http: requests.Session) -> None:
    base = sandbox.urls["population"]
    assert http.get(base + "/health", timeout=5).status_code == 200
    assert http.get(base + "/nothing", timeout=5).status_code == 404
    assert http.put(base + "/", data=b"", timeout=5).status_code == 405
    assert http.post(base + "/elsewhere", data=b"<a/>", timeout=5).status_code == 404
