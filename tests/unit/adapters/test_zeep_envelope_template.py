"""SOAP envelopes built once per operation are the bytes zeep builds for each call.

For every operation of the sandbox WSDLs the template's envelope and zeep's
own must be byte for byte the same, for the sandbox population's
identifiers and for values full of what XML or a type could rewrite.
Where zeep must build every call (WS-Security, plugins, a parameter type
that converts its value), no template is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses
from lxml import etree

from adapters import _zeep
from adapters._auth import Access
from adapters.resilience import Policy
from adapters.sandbox.population import Population
from adapters.soap import SoapRegistryClient
from hub.errors import CitizenNotFound, RegistryError

SPECS = Path(__file__).resolve().parents[3] / "specs" / "registries"
ENDPOINT = "http://127.0.0.1:9/soap"
TRICKY = [
    "",
    " ",
    "  leading and trailing  ",
    "a\tb\nc\r\nd",
    "<afm>&amp;</afm>",
    "]]><![CDATA[x]]>",
    "\"quoted\" 'single'",
    "Ιωάννης Παπαδόπουλος",
    "Łódź — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "x" * 5_000,
]


def _client(wsdl: Path, **kwargs: Any) -> SoapRegistryClient:
    return SoapRegistryClient("registry", wsdl, ENDPOINT, Policy(), **kwargs)


def _by_zeep(client: SoapRegistryClient, operation: str, params: dict[str, str]) -> bytes:
    envelope, _headers = _zeep.build_request(
        client.client, client.binding, operation, params, service=client.service
    )
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _template(client: SoapRegistryClient, operation: str, *names: str) -> Any:
    return _zeep.envelope_template(
        client.client, client.binding, operation, frozenset(names), service=client.service
    )


@pytest.mark.parametrize("operation", ["GetPerson", "GetBirthRecord", "GetFamilyStatus"])
@pytest.mark.parametrize("kind", ["afm", "amka"])
def test_the_template_writes_what_zeep_writes(operation: str, kind: str) -> None:
    client = _client(SPECS / "population.wsdl")
    template = _template(client, operation, kind)
    assert template is not None, "a plain document/literal operation gets a template"
    _envelope, headers = _zeep.build_request(
        client.client, client.binding, operation, {kind: "1"}, service=client.service
    )
    assert template.headers == headers
    values = [getattr(c, kind) for c in Population(size=300, seed=7)] + TRICKY
    for value in values:
        assert template.fill({kind: value}) == _by_zeep(client, operation, {kind: value}), value
    client.close()


def test_both_parameters_at_once() -> None:
    client = _client(SPECS / "population.wsdl")
    template = _template(client, "GetPerson", "afm", "amka")
    assert template is not None
    params = {"afm": "<1>", "amka": "&2"}
    assert template.fill(params) == _by_zeep(client, "GetPerson", params)
    client.close()


def test_a_value_xml_cannot_hold_is_refused_as_zeep_refuses_it() -> None:
    client = _client(SPECS / "population.wsdl")
    template = _template(client, "GetPerson", "afm")
    assert template is not None
    with pytest.raises(ValueError, match="XML compatible"):
        _by_zeep(client, "GetPerson", {"afm": "12\x0034"})
    with pytest.raises(ValueError, match="XML compatible"):
        template.fill({"afm": "12\x0034"})
    client.close()


def test_no_template_where_zeep_must_build_each_call() -> None:
    # WS-Security: each envelope has its own nonce and creation time.
    secured = _client(
        SPECS / "social-security.wsdl",
        auth={"kind": "username_token"},
        access=Access(credentials=("hub-client", "s3cret-pass")),
    )
    assert _template(secured, "GetInsuranceStatus", "amka") is None
    secured.close()
    # A plugin may rewrite any envelope.
    plugged = _client(SPECS / "population.wsdl")
    plugged.client.plugins.append(object())
    assert _template(plugged, "GetPerson", "afm") is None
    plugged.close()
    # A parameter zeep does not know: zeep refuses it on every call.
    plain = _client(SPECS / "population.wsdl")
    assert _template(plain, "GetPerson", "passport") is None
    plain.close()


_TYPED_WSDL = """<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:test:typed" targetNamespace="urn:test:typed">
  <wsdl:types>
    <xsd:schema targetNamespace="urn:test:typed" elementFormDefault="qualified">
      <xsd:element name="Query">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="name" type="xsd:string"/>
            <xsd:element name="count" type="xsd:{count_type}"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="Answer" type="xsd:string"/>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="In"><wsdl:part name="parameters" element="tns:Query"/></wsdl:message>
  <wsdl:message name="Out"><wsdl:part name="parameters" element="tns:Answer"/></wsdl:message>
  <wsdl:portType name="Port">
    <wsdl:operation name="Ask">
      <wsdl:input message="tns:In"/><wsdl:output message="tns:Out"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="Binding" type="tns:Port">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Ask">
      <soap:operation soapAction="urn:test:typed:Ask"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="Service">
    <wsdl:port name="Port" binding="tns:Binding"><soap:address location="{endpoint}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def test_no_template_for_a_parameter_whose_type_rewrites_its_value(tmp_path: Path) -> None:
    # zeep writes a boolean given as text as "true" or "false", whatever the text.
    wsdl = tmp_path / "typed.wsdl"
    wsdl.write_text(_TYPED_WSDL.format(count_type="boolean", endpoint=ENDPOINT))
    client = _client(wsdl)
    assert _by_zeep(client, "Ask", {"name": "a", "count": "1"}).count(b">true<") == 1
    assert _template(client, "Ask", "name", "count") is None
    client.close()


@pytest.mark.parametrize("count_type", ["string", "token", "int", "date", "decimal"])
def test_where_zeep_writes_text_as_given_the_template_writes_the_same(
    tmp_path: Path, count_type: str
) -> None:
    # zeep puts a value given as text into these types' elements as it is;
    # the template must then write every value exactly as zeep does.
    wsdl = tmp_path / "typed.wsdl"
    wsdl.write_text(_TYPED_WSDL.format(count_type=count_type, endpoint=ENDPOINT))
    client = _client(wsdl)
    template = _template(client, "Ask", "name", "count")
    assert template is not None
    for value in [*TRICKY, "42", "-0", "2026-12-02", "1.50"]:
        params = {"name": value, "count": value[::-1]}
        assert template.fill(params) == _by_zeep(client, "Ask", params)
    client.close()


@responses.activate
def test_the_client_sends_the_envelope_zeep_would_build() -> None:
    fault = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soap:Body><soap:Fault><faultcode>soap:Client</faultcode>"
        b"<faultstring>NOT_FOUND</faultstring><detail><code>NOT_FOUND</code></detail>"
        b"</soap:Fault></soap:Body></soap:Envelope>"
    )
    responses.add(responses.POST, ENDPOINT, body=fault, status=500, content_type="text/xml")
    client = _client(SPECS / "population.wsdl")
    for value in ("123456789", "<&>"):
        with pytest.raises((CitizenNotFound, RegistryError)):
            client.call("GetPerson", {"afm": value}, request_id="r1")
        sent = responses.calls[-1].request.body
        assert sent == _by_zeep(client, "GetPerson", {"afm": value})
    assert client._envelopes[("GetPerson", frozenset({"afm"}))] is not None
    with pytest.raises(RegistryError, match="cannot build"):
        client.call("GetPerson", {"afm": "1\x002"}, request_id="r2")
    client.close()
