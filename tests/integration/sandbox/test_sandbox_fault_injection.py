"""Every injected fault really happens, on real HTTP, for SOAP and for REST.

Rates of 1.0 make each fault certain. Slowness is shown by a client timeout
firing, never by measuring time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from lxml import etree
from zeep import exceptions as zeep_errors

from adapters.sandbox._soap import XmlRejected, hardened_parser, parse_untrusted
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.runner import SandboxHandle, start_sandbox

POP = "urn:gr:sandbox:population:v1"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
Start = Callable[..., SandboxHandle]
SoapFactory = Callable[..., Any]


@pytest.fixture
def faulty() -> Iterator[Start]:
    """Start a small sandbox with the given faults per registry; stop it afterwards."""
    handles: list[SandboxHandle] = []

    def start(**faults: Faults) -> SandboxHandle:
        renamed = {name.replace("_", "-"): f for name, f in faults.items()}
        handle = start_sandbox(base_port=0, size=50, faults=renamed)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def _get_person(handle: SandboxHandle, timeout: float = 10, **kwargs: Any) -> requests.Response:
    afm = handle.population.citizen(0).afm
    body = (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><p:GetPersonRequest xmlns:p="{POP}">'
        f"<p:afm>{afm}</p:afm></p:GetPersonRequest></soap:Body></soap:Envelope>"
    ).encode()
    return requests.post(handle.urls["population"] + "/", data=body, timeout=timeout, **kwargs)


def _owner(handle: SandboxHandle, timeout: float = 10, **kwargs: Any) -> requests.Response:
    afm = handle.population.citizen(0).afm
    url = f"{handle.urls['land']}/v1/owners/{afm}/properties"
    return requests.get(url, timeout=timeout, **kwargs)


def test_latency_makes_a_short_timeout_fire(faulty: Start) -> None:
    handle = faulty(population=Faults(latency_ms=3000), land=Faults(latency_ms=3000))
    with pytest.raises(requests.Timeout):
        _get_person(handle, timeout=0.3)
    with pytest.raises(requests.Timeout):
        _owner(handle, timeout=0.3)
    # Health checks and the WSDL are never slowed down.
    assert requests.get(handle.urls["population"] + "/?wsdl", timeout=2).status_code == 200


def test_a_hang_never_answers_and_stopping_ends_it(faulty: Start) -> None:
    handle = faulty(population=Faults(hang_rate=1), land=Faults(hang_rate=1))
    with pytest.raises(requests.Timeout):
        _get_person(handle, timeout=0.3)
    with pytest.raises(requests.Timeout):
        _owner(handle, timeout=0.3)
    assert requests.get(handle.urls["land"] + "/health", timeout=2).status_code == 200
    handle.stop()
    assert handle._running == []


def test_errors_are_server_faults_and_500_problems(faulty: Start) -> None:
    handle = faulty(population=Faults(error_rate=1), land=Faults(error_rate=1))
    soap = _get_person(handle)
    assert soap.status_code == 500
    assert etree.fromstring(soap.content).findtext(".//faultcode") == "soap:Server"
    assert b"INTERNAL_ERROR" in soap.content
    rest = _owner(handle)
    assert rest.status_code == 500
    assert rest.headers["Content-Type"] == "application/problem+json"
    assert rest.json()["code"] == "INTERNAL_ERROR"


def test_an_error_rate_of_a_half_fails_some_calls(faulty: Start) -> None:
    handle = faulty(land=Faults(error_rate=0.5, seed=1))
    statuses = {_owner(handle).status_code for _ in range(30)}
    assert statuses == {200, 500}


def test_malformed_answers_do_not_parse(faulty: Start) -> None:
    handle = faulty(population=Faults(malformed_rate=1), land=Faults(malformed_rate=1))
    soap = _get_person(handle)
    assert soap.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(soap.content)
    rest = _owner(handle)
    assert rest.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(rest.content)


@pytest.mark.parametrize("mode", ["xxe", "billion_laughs", "dtd"])
def test_hostile_xml_carries_a_dtd_the_hardened_parser_refuses(
    faulty: Start, mode: HostileMode
) -> None:
    handle = faulty(population=Faults(hostile=mode), land=Faults(hostile=mode))
    for response in (_get_person(handle), _owner(handle)):
        assert response.status_code == 200
        assert b"<!DOCTYPE" in response.content
        with pytest.raises(XmlRejected):
            parse_untrusted(response.content, hardened_parser())
    soap = _get_person(handle).content
    rest = _owner(handle).content
    if mode == "xxe":
        assert b'SYSTEM "file:///etc/passwd"' in soap
        assert b"&xxe;" in soap
        assert b"&xxe;" in rest
    elif mode == "billion_laughs":
        assert b"&lol9;" in soap
        assert b"<!ENTITY lol9" in rest
    else:
        assert b'SYSTEM "http://127.0.0.1:9/' in soap


@pytest.mark.parametrize("mode", ["xxe", "billion_laughs", "dtd", "deep_nesting"])
def test_a_hardened_zeep_client_refuses_hostile_answers(
    faulty: Start, soap_service: SoapFactory, mode: HostileMode
) -> None:
    handle = faulty(population=Faults(hostile=mode))
    service = soap_service("population.wsdl", handle.urls["population"])
    # DTDForbidden for a DTD; TransportError when libxml2 itself gives up.
    with pytest.raises(zeep_errors.Error):
        service.GetPerson(afm=handle.population.citizen(0).afm)


def test_huge_answers_are_huge(faulty: Start) -> None:
    handle = faulty(population=Faults(hostile="huge"), land=Faults(hostile="huge"))
    for response in (_get_person(handle, stream=True), _owner(handle, stream=True)):
        with response:
            assert response.status_code == 200
            assert int(response.headers["Content-Length"]) >= 50 * 1024 * 1024
            first = next(response.iter_content(64 * 1024))
            assert first.startswith((b"<?xml", b"{"))


def test_huge_answers_arrive_whole(faulty: Start) -> None:
    handle = faulty(land=Faults(hostile="huge", huge_bytes=300_000))
    response = _owner(handle)
    assert len(response.content) == int(response.headers["Content-Length"]) == 300_000
    assert response.json()["properties"] == []


def test_wrong_namespace_answers_parse_but_do_not_match(faulty: Start) -> None:
    handle = faulty(
        population=Faults(hostile="wrong_namespace"), land=Faults(hostile="wrong_namespace")
    )
    root = etree.fromstring(_get_person(handle).content)
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None
    assert etree.QName(body[0]).namespace != POP
    assert POP.encode() not in etree.tostring(root)
    data = _owner(handle).json()
    assert "properties" not in data
    assert data["apiVersion"] == "v9"


def test_deeply_nested_answers_overflow_naive_parsers(faulty: Start) -> None:
    handle = faulty(population=Faults(hostile="deep_nesting"), land=Faults(hostile="deep_nesting"))
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(_get_person(handle).content, hardened_parser())
    with pytest.raises(RecursionError):
        json.loads(_owner(handle).content)


def test_faults_apply_to_social_security_too(faulty: Start) -> None:
    handle = faulty(social_security=Faults(error_rate=1))
    response = requests.post(handle.urls["social-security"] + "/", data=b"<a/>", timeout=5)
    assert response.status_code == 500
    assert b"INTERNAL_ERROR" in response.content
