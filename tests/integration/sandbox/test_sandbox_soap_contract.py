"""Every SOAP answer validates against the XML Schema embedded in its WSDL.

zeep is lenient when it reads answers; a stricter client must not trip over
the sandbox, so the raw answers are checked against the contract itself.
"""

from __future__ import annotations

import pytest
import requests
from lxml import etree

from adapters.sandbox.runner import SPECS_DIR, SandboxHandle

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def _schema(wsdl: str) -> etree.XMLSchema:
    tree = etree.parse(str(SPECS_DIR / wsdl))
    schema = tree.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(schema)


def _envelope(namespace: str, operation: str, query: str, header: str = "") -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Header>{header}</soap:Header><soap:Body>'
        f'<q:{operation}Request xmlns:q="{namespace}">{query}</q:{operation}Request>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def _payload(response: requests.Response) -> etree._Element:
    body = etree.fromstring(response.content).find(f"{{{SOAP}}}Body")
    assert body is not None
    return body[0]


@pytest.mark.parametrize("operation", ["GetPerson", "GetBirthRecord", "GetFamilyStatus"])
def test_population_answers_are_valid(
    sandbox: SandboxHandle, http: requests.Session, operation: str
) -> None:
    schema = _schema("population.wsdl")
    for citizen in list(sandbox.population)[:150]:
        body = _envelope(
            "urn:gr:sandbox:population:v1", operation, f"<q:amka>{citizen.amka}</q:amka>"
        )
        response = http.post(sandbox.urls["population"] + "/", data=body, timeout=5)
        assert response.status_code == 200
        schema.assertValid(_payload(response))


def test_population_faults_are_valid(sandbox: SandboxHandle, http: requests.Session) -> None:
    schema = _schema("population.wsdl")
    body = _envelope("urn:gr:sandbox:population:v1", "GetPerson", "<q:afm>123456789</q:afm>")
    response = http.post(sandbox.urls["population"] + "/", data=body, timeout=5)
    fault = _payload(response)
    detail = fault.find("detail")
    assert detail is not None
    schema.assertValid(detail[0])


def test_social_security_answers_are_valid(sandbox: SandboxHandle, http: requests.Session) -> None:
    schema = _schema("social-security.wsdl")
    user, password = sandbox.credentials
    header = (
        f'<wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security>"
    )
    for citizen in list(sandbox.population)[:150]:
        body = _envelope(
            "urn:gr:sandbox:social-security:v1",
            "GetInsuranceStatus",
            f"<q:afm>{citizen.afm}</q:afm>",
            header,
        )
        response = http.post(sandbox.urls["social-security"] + "/", data=body, timeout=5)
        assert response.status_code == 200
        schema.assertValid(_payload(response))
