"""The SOAP registry client against canned replies (``responses``; no sockets).

The WSDL is read from ``specs/registries``; the endpoint is a name no resolver
knows, so only the mocks can answer. Replies and faults are shaped like the
sandbox registries' (``adapters/sandbox/_soap.py``): SOAP 1.1, document/literal,
faults with a ``RegistryFault`` detail carrying a stable ``code``. The hostile
replies are the sandbox fault injector's: XXE, billion laughs, DTDs.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from lxml import etree

from adapters._auth import Access
from adapters.resilience import Policy, Resilient
from adapters.rest import MAX_ANSWER_BYTES
from adapters.soap import SoapRegistryClient, plain
from hub.errors import (
    CitizenNotFound,
    ConfigError,
    RegistryError,
    RegistryTimeout,
    RegistryUnavailable,
)
from hub.evidence.ports import RegistryClient

SPECS = Path(__file__).resolve().parents[3] / "specs" / "registries"
POPULATION = "http://population.test/"
SOCIAL = "http://social-security.test/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
POP_NS = "urn:gr:sandbox:population:v1"
SS_NS = "urn:gr:sandbox:social-security:v1"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XML = "text/xml; charset=utf-8"
AFM, AMKA = "090000045", "01019012345"
DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>\n"


def envelope(body: str, ns: str = POP_NS, prefix: str = "pop") -> bytes:
    return (
        DECLARATION
        + (
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:{prefix}="{ns}">'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>"
        ).encode()
    )


PERSON = envelope(
    "<pop:GetPersonResponse><pop:person>"
    f"<pop:afm>{AFM}</pop:afm><pop:amka>{AMKA}</pop:amka>"
    "<pop:firstName>Μαρία</pop:firstName><pop:surname>Παπαδοπούλου</pop:surname>"
    "<pop:firstNameLatin>Maria</pop:firstNameLatin>"
    "<pop:surnameLatin>Papadopoulou</pop:surnameLatin>"
    "<pop:fatherName>Γεώργιος</pop:fatherName><pop:fatherNameLatin>Georgios</pop:fatherNameLatin>"
    "<pop:motherName>Ελένη</pop:motherName><pop:motherNameLatin>Eleni</pop:motherNameLatin>"
    "<pop:sex>F</pop:sex><pop:birthDate>1990-01-01</pop:birthDate>"
    "<pop:alive>true</pop:alive>"
    "</pop:person></pop:GetPersonResponse>"
)

INSURANCE = envelope(
    "<ss:GetInsuranceStatusResponse><ss:insuranceStatus>"
    f"<ss:amka>{AMKA}</ss:amka><ss:afm>{AFM}</ss:afm>"
    "<ss:surname>Παπαδοπούλου</ss:surname><ss:firstName>Μαρία</ss:firstName>"
    "<ss:insured>true</ss:insured><ss:category>employee</ss:category>"
    "<ss:fund><ss:code>EFKA-M</ss:code><ss:name>e-EFKA</ss:name></ss:fund>"
    "<ss:validUntil>2026-12-31</ss:validUntil>"
    "<ss:insuredDays><ss:period><ss:year>2023</ss:year><ss:days>300</ss:days></ss:period>"
    "<ss:period><ss:year>2024</ss:year><ss:days>250</ss:days></ss:period></ss:insuredDays>"
    "</ss:insuranceStatus></ss:GetInsuranceStatusResponse>",
    SS_NS,
    "ss",
)


def fault(
    code: str, faultcode: str = "soap:Client", ns: str = POP_NS, prefix: str = "pop"
) -> bytes:
    extra = f' xmlns:wsse="{WSSE_NS}"' if faultcode.startswith("wsse:") else ""
    return (
        DECLARATION
        + (
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:{prefix}="{ns}"{extra}><soap:Body>'
            f"<soap:Fault><faultcode>{faultcode}</faultcode>"
            "<faultstring>the registry refused</faultstring>"
            f"<detail><{prefix}:RegistryFault><{prefix}:code>{code}</{prefix}:code>"
            f"<{prefix}:message>the registry refused</{prefix}:message></{prefix}:RegistryFault>"
            "</detail></soap:Fault></soap:Body></soap:Envelope>"
        ).encode()
    )


def _doc(reply: bytes) -> bytes:
    return reply.removeprefix(DECLARATION)


def _laughs() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10))
    return b"<!DOCTYPE soap:Envelope [" + b"".join(entities) + b"]>"


def xxe(target: str) -> bytes:
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "{target}">]>'.encode()
    return DECLARATION + doctype + _doc(PERSON).replace(b">Maria<", b">&xxe;<")


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def soap_client(name: str, wsdl: str, endpoint: str, **kwargs: Any) -> SoapRegistryClient:
    policy = Policy(timeout=5.0, retries=2, failure_threshold=100)
    resilient = Resilient(name, policy, sleep=Sleeps())
    return SoapRegistryClient(name, SPECS / wsdl, endpoint, policy, resilient=resilient, **kwargs)


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    # Any URL not mocked (a DTD, an external entity) fails loudly.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def population() -> Iterator[SoapRegistryClient]:
    client = soap_client("population", "population.wsdl", POPULATION)
    yield client
    client.close()


@pytest.fixture
def social() -> Iterator[SoapRegistryClient]:
    client = soap_client(
        "social-security",
        "social-security.wsdl",
        SOCIAL,
        auth={"kind": "username_token"},
        access=Access(credentials=("hub-client", "s3cret-pass")),
    )
    yield client
    client.close()


def get_person(client: SoapRegistryClient) -> object:
    return client.call("GetPerson", {"afm": AFM}, request_id="req-7")


def whole_story(error: BaseException) -> str:
    """Every message, repr and traceback line of an error and its causes."""
    return "".join(traceback.format_exception(error)) + repr(error)


# -- success ------------------------------------------------------------------------


def test_the_client_implements_the_registry_port(population: SoapRegistryClient) -> None:
    assert isinstance(population, RegistryClient)


def test_get_person_is_parsed_to_plain_data(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=PERSON, content_type=XML)
    person = get_person(population)
    assert isinstance(person, dict)
    assert person["afm"] == AFM
    assert person["firstName"] == "Μαρία"
    assert person["birthDate"] == "1990-01-01"
    assert person["alive"] is True
    assert person.get("deathDate") is None
    assert type(person) is dict


def test_nested_lists_and_numbers_are_plain(
    social: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(SOCIAL, body=INSURANCE, content_type=XML)
    status = social.call("GetInsuranceStatus", {"amka": AMKA}, request_id="req-7")
    assert status["validUntil"] == "2026-12-31"
    assert status["fund"] == {"code": "EFKA-M", "name": "e-EFKA"}
    assert status["insuredDays"] == {
        "period": [{"year": 2023, "days": 300}, {"year": 2024, "days": 250}]
    }
    assert type(status["insuredDays"]["period"][0]) is dict


def test_the_request_is_built_from_the_wsdl(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=PERSON, content_type=XML)
    get_person(population)
    request = mock.calls[0].request
    assert request.headers["SOAPAction"] == f'"{POP_NS}#GetPerson"'
    assert request.headers["X-Request-ID"] == "req-7"
    root = etree.fromstring(request.body)
    query = root.find(f"{{{SOAP_ENV}}}Body/{{{POP_NS}}}GetPersonRequest")
    assert query is not None
    assert query.findtext(f"{{{POP_NS}}}afm") == AFM


def test_the_ws_security_username_token_is_sent(
    social: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(SOCIAL, body=INSURANCE, content_type=XML)
    social.call("GetInsuranceStatus", {"amka": AMKA}, request_id="req-7")
    body = mock.calls[0].request.body
    assert b"wsse:UsernameToken" in body
    root = etree.fromstring(body)
    token = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken")
    assert token is not None
    assert token.findtext(f"{{{WSSE_NS}}}Username") == "hub-client"
    assert token.findtext(f"{{{WSSE_NS}}}Password") == "s3cret-pass"


def test_no_security_header_without_credentials(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=PERSON, content_type=XML)
    get_person(population)
    assert b"UsernameToken" not in mock.calls[0].request.body


def test_plain_turns_decimals_into_numbers() -> None:
    from decimal import Decimal  # noqa: PLC0415

    assert plain({"a": [Decimal("2"), Decimal("2.5")]}) == {"a": [2, 2.5]}
    assert type(plain(Decimal("2"))) is int


# -- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["NOT_FOUND", "PERSON_NOT_FOUND", "UNKNOWN_PERSON"])
def test_a_not_found_fault_is_citizen_not_found(
    population: SoapRegistryClient, mock: responses.RequestsMock, code: str
) -> None:
    mock.post(POPULATION, body=fault(code), status=500, content_type=XML)
    with pytest.raises(CitizenNotFound):
        get_person(population)
    assert len(mock.calls) == 1


def test_a_server_fault_is_transient_and_retried(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=fault("INTERNAL_ERROR", "soap:Server"), status=500, content_type=XML)
    with pytest.raises(RegistryError, match="INTERNAL_ERROR") as caught:
        get_person(population)
    assert caught.value.transient
    assert len(mock.calls) == 3


def test_a_server_fault_then_success(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=fault("INTERNAL_ERROR", "soap:Server"), status=500, content_type=XML)
    mock.post(POPULATION, body=PERSON, content_type=XML)
    assert get_person(population)["afm"] == AFM  # type: ignore[index]
    assert len(mock.calls) == 2


def test_a_client_fault_is_not_transient(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=fault("INVALID_INPUT"), status=500, content_type=XML)
    with pytest.raises(RegistryError, match="INVALID_INPUT") as caught:
        get_person(population)
    assert not caught.value.transient
    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    ("code", "faultcode"),
    [("AUTH_REQUIRED", "wsse:InvalidSecurity"), ("AUTH_FAILED", "wsse:FailedAuthentication")],
)
def test_a_security_fault_is_not_retried(
    social: SoapRegistryClient, mock: responses.RequestsMock, code: str, faultcode: str
) -> None:
    # Wrong credentials stay wrong: hammering the registry with them helps nobody.
    mock.post(SOCIAL, body=fault(code, faultcode, SS_NS, "ss"), status=500, content_type=XML)
    with pytest.raises(RegistryError, match=code) as caught:
        social.call("GetInsuranceStatus", {"amka": AMKA}, request_id="req-7")
    assert not caught.value.transient
    assert len(mock.calls) == 1


def test_the_fault_text_does_not_leak_into_the_error(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=fault("INVALID_INPUT"), status=500, content_type=XML)
    with pytest.raises(RegistryError) as caught:
        get_person(population)
    assert "the registry refused" not in caught.value.detail


# -- hostile XML ------------------------------------------------------------------------


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-4f1c9a", encoding="utf-8")
    return path


def test_an_external_entity_to_etc_passwd_is_refused(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=xxe("file:///etc/passwd"), content_type=XML)
    with pytest.raises(RegistryError, match="hostile") as caught:
        get_person(population)
    story = whole_story(caught.value)
    assert "root:" not in story
    assert "/bin/" not in story
    assert len(mock.calls) == 1


def test_an_external_entity_never_reads_the_file(
    population: SoapRegistryClient, mock: responses.RequestsMock, secret_file: Path
) -> None:
    mock.post(POPULATION, body=xxe(secret_file.as_uri()), content_type=XML)
    with pytest.raises(RegistryError) as caught:
        get_person(population)
    assert "TOP-SECRET" not in whole_story(caught.value)


def test_an_external_entity_in_a_fault_is_refused(
    population: SoapRegistryClient, mock: responses.RequestsMock, secret_file: Path
) -> None:
    doctype = f'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
    body = (
        DECLARATION
        + doctype.encode()
        + _doc(fault("NOT_FOUND")).replace(
            b"the registry refused</faultstring>", b"&xxe;</faultstring>"
        )
    )
    mock.post(POPULATION, body=body, status=500, content_type=XML)
    with pytest.raises(RegistryError, match="hostile") as caught:
        get_person(population)
    assert "TOP-SECRET" not in whole_story(caught.value)


def test_billion_laughs_is_refused(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    body = DECLARATION + _laughs() + _doc(PERSON).replace(b">Maria<", b">&lol9;<")
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="hostile") as caught:
        get_person(population)
    assert "lollollol" not in whole_story(caught.value)
    assert len(mock.calls) == 1


def test_an_internal_dtd_is_refused(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    body = DECLARATION + b"<!DOCTYPE soap:Envelope [<!ELEMENT x ANY>]>" + _doc(PERSON)
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="hostile"):
        get_person(population)


def test_an_external_dtd_reference_is_refused_and_never_fetched(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    dtd_url = "http://dtd.test/registry.dtd"
    mock.get(dtd_url, body=b'<!ENTITY name "INJECTED">', content_type="application/xml-dtd")
    body = DECLARATION + f'<!DOCTYPE soap:Envelope SYSTEM "{dtd_url}">'.encode() + _doc(PERSON)
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="hostile"):
        get_person(population)
    assert [call.request.url for call in mock.calls] == [POPULATION]


def test_an_external_entity_in_utf16_is_refused_by_the_parser_too(
    population: SoapRegistryClient, mock: responses.RequestsMock, secret_file: Path
) -> None:
    # UTF-16 hides "<!DOCTYPE" from a byte scan; the parser's own guard must hold.
    text = xxe(secret_file.as_uri()).decode().replace("encoding='utf-8'", "encoding='utf-16'")
    mock.post(POPULATION, body=text.encode("utf-16"), content_type="text/xml; charset=utf-16")
    with pytest.raises(RegistryError, match="hostile") as caught:
        get_person(population)
    assert "TOP-SECRET" not in whole_story(caught.value)


def test_hostile_replies_are_not_retried(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=xxe("file:///etc/passwd"), content_type=XML)
    with pytest.raises(RegistryError) as caught:
        get_person(population)
    assert not caught.value.transient
    assert len(mock.calls) == 1


# -- malformed and odd replies -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<soap:Envelope",
        DECLARATION + b"<soap:Envelope xmlns:soap='" + SOAP_ENV.encode() + b"'><soap:Body>",
        b"",
        b"{}",
    ],
    ids=["unbound-prefix", "truncated", "empty", "json"],
)
def test_a_malformed_reply_is_a_registry_error(
    population: SoapRegistryClient, mock: responses.RequestsMock, body: bytes
) -> None:
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="malformed") as caught:
        get_person(population)
    assert type(caught.value) is RegistryError
    assert not caught.value.transient


def test_a_wrong_namespace_reply_is_a_registry_error(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    body = PERSON.replace(POP_NS.encode(), b"urn:gr:sandbox:unexpected:v9")
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="malformed"):
        get_person(population)


def test_a_reply_to_another_operation_is_a_registry_error(
    social: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(SOCIAL, body=PERSON, content_type=XML)
    with pytest.raises(RegistryError):
        social.call("GetInsuranceStatus", {"amka": AMKA}, request_id="req-7")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>502</title></head><body>Bad Gateway</body></html>",
        b"<!DOCTYPE html><html><body>Internal Server Error</body></html>",
        b"Internal Server Error",
    ],
    ids=["xhtml-like", "html5", "text"],
)
def test_http_500_with_html_is_a_transient_registry_error(
    population: SoapRegistryClient, mock: responses.RequestsMock, body: bytes
) -> None:
    mock.post(POPULATION, body=body, status=500, content_type="text/html")
    with pytest.raises(RegistryError) as caught:
        get_person(population)
    assert type(caught.value) is RegistryError
    assert caught.value.transient
    assert len(mock.calls) == 3


def test_an_oversized_reply_is_a_registry_error(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    padding = b"x" * (MAX_ANSWER_BYTES + 1)
    body = PERSON.replace(b">Maria<", b">" + padding + b"<")
    mock.post(POPULATION, body=body, content_type=XML)
    with pytest.raises(RegistryError, match="oversized"):
        get_person(population)


# -- transport and configuration -----------------------------------------------------------


def test_connection_error_is_registry_unavailable(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=requests.ConnectionError("connection refused"))
    with pytest.raises(RegistryUnavailable):
        get_person(population)
    assert len(mock.calls) == 3


def test_read_timeout_is_registry_timeout(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(POPULATION, body=requests.ReadTimeout("timed out"))
    with pytest.raises(RegistryTimeout):
        get_person(population)


def test_an_unknown_operation_is_a_registry_error_without_a_call(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    with pytest.raises(RegistryError, match="no operation DropTables"):
        population.call("DropTables", {"afm": AFM}, request_id="req-7")
    assert len(mock.calls) == 0


def test_a_parameter_the_wsdl_does_not_know_is_a_registry_error(
    population: SoapRegistryClient, mock: responses.RequestsMock
) -> None:
    with pytest.raises(RegistryError, match="cannot build"):
        population.call("GetPerson", {"passport": "X1"}, request_id="req-7")
    assert len(mock.calls) == 0


def test_a_missing_wsdl_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load the WSDL"):
        SoapRegistryClient("population", tmp_path / "missing.wsdl", POPULATION, Policy())
