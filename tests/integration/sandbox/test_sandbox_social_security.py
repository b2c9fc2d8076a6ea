"""The social-security registry: insurance status behind a WS-Security UsernameToken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from adapters.sandbox.population import Population
from adapters.sandbox.runner import SandboxHandle

NS = "urn:gr:sandbox:social-security:v1"
SoapFactory = Callable[..., Any]


def _fault_code(fault: Fault) -> str:
    return str(fault.detail.findtext(f"{{{NS}}}RegistryFault/{{{NS}}}code"))


@pytest.fixture
def service(sandbox: SandboxHandle, soap_service: SoapFactory) -> Any:
    user, password = sandbox.credentials
    return soap_service(
        "social-security.wsdl", sandbox.urls["social-security"], wsse=UsernameToken(user, password)
    )


def test_an_employee_has_an_employer_and_insured_days(sandbox: SandboxHandle, service: Any) -> None:
    population = sandbox.population
    worker = next(
        c for c in population if population.insurance(c).category == "employee" and c.alive
    )
    expected = population.insurance(worker)
    status = service.GetInsuranceStatus(amka=worker.amka)
    assert status.amka == worker.amka
    assert status.afm == worker.afm
    assert status.insured is True
    assert status.category == "employee"
    assert status.fund.code == expected.fund_code
    assert status.validUntil == expected.valid_until
    assert [(p.year, p.days) for p in status.insuredDays.period] == list(expected.insured_days)
    assert expected.employer is not None
    assert status.employer.afm == expected.employer.afm
    assert status.employer.name == expected.employer.name


def test_an_uninsured_person_by_afm(sandbox: SandboxHandle, service: Any) -> None:
    population = sandbox.population
    idle = next(c for c in population if not population.insurance(c).insured)
    status = service.GetInsuranceStatus(afm=idle.afm)
    assert status.insured is False
    assert status.category == "none"
    assert status.validUntil is None
    assert status.employer is None
    assert status.fund is None


def test_unknown_and_invalid_people_are_faults(service: Any) -> None:
    stranger = Population(10_000, 2026).citizen(9_999)
    with pytest.raises(Fault) as caught:
        service.GetInsuranceStatus(amka=stranger.amka)
    assert _fault_code(caught.value) == "NOT_FOUND"
    with pytest.raises(Fault) as caught:
        service.GetInsuranceStatus(amka="01010112345")
    assert _fault_code(caught.value) == "INVALID_INPUT"


@pytest.mark.parametrize(
    "token",
    [
        UsernameToken("hub-test", "wrong"),
        UsernameToken("someone-else", "s3cret-for-tests"),
        UsernameToken("hub-test", ""),
        UsernameToken("hub-test", "s3cret-for-tests", use_digest=True),
    ],
)
def test_bad_credentials_are_refused(
    sandbox: SandboxHandle, soap_service: SoapFactory, token: UsernameToken
) -> None:
    service = soap_service("social-security.wsdl", sandbox.urls["social-security"], wsse=token)
    with pytest.raises(Fault) as caught:
        service.GetInsuranceStatus(amka=sandbox.population.citizen(0).amka)
    assert _fault_code(caught.value) == "AUTH_FAILED"
    assert caught.value.code == "wsse:FailedAuthentication"


def test_missing_credentials_are_refused(sandbox: SandboxHandle, soap_service: SoapFactory) -> None:
    service = soap_service("social-security.wsdl", sandbox.urls["social-security"])
    with pytest.raises(Fault) as caught:
        service.GetInsuranceStatus(amka=sandbox.population.citizen(0).amka)
    assert _fault_code(caught.value) == "AUTH_REQUIRED"
    assert caught.value.code == "wsse:InvalidSecurity"


def test_the_fault_reveals_nothing_about_the_person(
    sandbox: SandboxHandle, http: requests.Session
) -> None:
    citizen = sandbox.population.citizen(0)
    body = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<s:GetInsuranceStatusRequest xmlns:s="{NS}"><s:amka>{citizen.amka}</s:amka>'
        "</s:GetInsuranceStatusRequest></soap:Body></soap:Envelope>"
    ).encode()
    response = http.post(sandbox.urls["social-security"] + "/", data=body, timeout=5)
    assert response.status_code == 500
    assert b"AUTH_REQUIRED" in response.content
    assert citizen.surname.encode() not in response.content
