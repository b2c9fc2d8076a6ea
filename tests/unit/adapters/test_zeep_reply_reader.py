"""The compiled SOAP reply reader reads what zeep reads, or leaves the reply to zeep.

Every operation of the sandbox registries' WSDLs is answered for a spread of
the sandbox population (married, widowed, childless, deceased relatives…)
by the sandbox's own answer builders; each answer is read once by zeep
(``process_reply``, then :func:`adapters.soap.plain`) and once by the
compiled reader, and the two must be equal. Replies off the compiled shape
(a Fault, a header, xsi:nil, an element out of place, a value its type
refuses) must be left to zeep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from zeep.helpers import serialize_object

from adapters import _zeep
from adapters._auth import Access
from adapters.resilience import Policy
from adapters.sandbox.population import Population
from adapters.sandbox.population_registry import PopulationRegistry
from adapters.sandbox.social_security import SocialSecurityRegistry
from adapters.soap import SoapRegistryClient, _Reply, plain

SPECS = Path(__file__).resolve().parents[3] / "specs" / "registries"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CREDENTIALS = ("hub-client", "s3cret-pass")
XML = {"Content-Type": "text/xml; charset=utf-8"}


@pytest.fixture(scope="module", autouse=True)
def readers_enabled() -> Iterator[None]:
    was = _zeep._readers.is_set()
    _zeep.install_reader()
    yield
    if not was:
        _zeep._readers.clear()


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(size=2_000, seed=2026)


def _client(wsdl: str, **kwargs: Any) -> SoapRegistryClient:
    return SoapRegistryClient("registry", SPECS / wsdl, "http://127.0.0.1:9/", Policy(), **kwargs)


def _answers(app: Any, request_element: str, population: Population, count: int) -> Iterator[bytes]:
    for citizen in list(population)[:count]:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=app._nsmap)
        app.operations[request_element](citizen, etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"))
        yield etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _by_zeep(client: SoapRegistryClient, operation: str, content: bytes) -> Any:
    reply = _Reply(200, content, XML)
    result = client.binding.process_reply(client.client, client.binding.get(operation), reply)
    return plain(serialize_object(result, dict))


CASES: list[tuple[str, str, str, Callable[[Population], Any], dict[str, Any]]] = [
    (
        "population.wsdl",
        operation,
        f"{operation}Request",
        lambda population: PopulationRegistry(
            population, wsdl_path=SPECS / "population.wsdl", base_url="http://127.0.0.1:9"
        ),
        {},
    )
    for operation in ("GetPerson", "GetBirthRecord", "GetFamilyStatus")
] + [
    (
        "social-security.wsdl",
        "GetInsuranceStatus",
        "GetInsuranceStatusRequest",
        lambda population: SocialSecurityRegistry(
            population,
            wsdl_path=SPECS / "social-security.wsdl",
            base_url="http://127.0.0.1:9",
            credentials=CREDENTIALS,
        ),
        {"auth": {"kind": "username_token"}, "access": Access(credentials=CREDENTIALS)},
    )
]


@pytest.mark.parametrize(
    ("wsdl", "operation", "request_element", "app", "kwargs"),
    CASES,
    ids=[case[1] for case in CASES],
)
def test_the_reader_reads_every_sandbox_answer_as_zeep_does(
    population: Population,
    wsdl: str,
    operation: str,
    request_element: str,
    app: Callable[[Population], Any],
    kwargs: dict[str, Any],
) -> None:
    client = _client(wsdl, **kwargs)
    reader = _zeep.reply_reader(client.client, client.binding, operation)
    assert reader is not None, "the sandbox operations are plain sequences"
    registry = app(population)
    for content in _answers(registry, request_element, population, 400):
        expected = _by_zeep(client, operation, content)
        assert reader.read(content) == expected
        assert client._parse(operation, _Reply(200, content, XML)) == expected
    client.close()


def _person_reply(client: SoapRegistryClient, population: Population) -> bytes:
    registry = PopulationRegistry(
        population, wsdl_path=SPECS / "population.wsdl", base_url="http://127.0.0.1:9"
    )
    return next(_answers(registry, "GetPersonRequest", population, 1))


@pytest.mark.parametrize(
    "change",
    [
        # A value zeep's type refuses, an attribute zeep interprets, an
        # element out of place, an extra one, a missing required one, a
        # header, a fault, text where elements belong.
        lambda doc: doc.replace(b"<pop:alive>", b'<pop:alive xsi:nil="true" xmlns:xsi="x">'),
        lambda doc: doc.replace(b"<pop:person>", b'<pop:person foo="1">'),
        lambda doc: doc.replace(b"<pop:firstName>", b"<pop:sex>M</pop:sex><pop:firstName>"),
        lambda doc: doc.replace(b"</pop:person>", b"<pop:extra>1</pop:extra></pop:person>"),
        lambda doc: doc.replace(b"<pop:person>", b"<pop:person>stray text"),
        lambda doc: doc.replace(b"<soap:Body>", b"<soap:Header/><soap:Body>"),
        lambda doc: doc.replace(b"<pop:afm>", b"<pop:afmx>").replace(b"</pop:afm>", b"</pop:afmx>"),
        lambda doc: doc.replace(b"</pop:GetPersonResponse>", b"</pop:GetPersonResponse><pop:x/>"),
        lambda doc: doc.replace(b"<pop:birthDate>", b"<pop:birthDate><pop:y/>"),
        lambda doc: b"not xml at all",
    ],
)
def test_what_is_off_the_compiled_shape_is_left_to_zeep(
    population: Population, change: Callable[[bytes], bytes]
) -> None:
    client = _client("population.wsdl")
    reader = _zeep.reply_reader(client.client, client.binding, "GetPerson")
    assert reader is not None
    content = _person_reply(client, population)
    assert reader.read(content) != _zeep.UNREAD
    assert reader.read(change(content)) is _zeep.UNREAD
    client.close()


def test_a_value_its_type_refuses_is_left_to_zeep(population: Population) -> None:
    client = _client("population.wsdl")
    reader = _zeep.reply_reader(client.client, client.binding, "GetPerson")
    assert reader is not None
    content = _person_reply(client, population)
    start = content.index(b"<pop:birthDate>") + len(b"<pop:birthDate>")
    end = content.index(b"</pop:birthDate>")
    assert reader.read(content[:start] + b"not-a-date" + content[end:]) is _zeep.UNREAD
    client.close()


def test_no_reader_where_zeep_must_check_the_reply() -> None:
    # Readers are off until hub._patches enables them for a known zeep.
    _zeep._readers.clear()
    try:
        client = _client("population.wsdl")
        assert _zeep.reply_reader(client.client, client.binding, "GetPerson") is None
        client.close()
    finally:
        _zeep.install_reader()
    # A plugin could rewrite the reply: zeep reads it.
    client = _client("population.wsdl")
    client.client.plugins.append(object())
    assert _zeep.reply_reader(client.client, client.binding, "GetPerson") is None
    client.close()
