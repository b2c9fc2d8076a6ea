"""SOAP 1.1 document/literal serving on lxml, shared by the two SOAP registries.

Incoming XML is untrusted, so it is parsed with DTDs, entities and network
access all refused, under a size limit; any document type declaration is
rejected before lxml sees the bytes and again after parsing. Answers are built
as lxml trees and serialised once. Errors leave as SOAP 1.1 Faults whose
``<detail>`` carries a machine-readable code, so clients never parse prose.
The hostile answers the fault injector asks for are made here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from adapters.sandbox._asgi import Request, Response, SandboxApp, laughs_doctype, padded_stream
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.population import Citizen, Population
from hub.domain.identity import is_valid_afm, is_valid_amka

__all__ = [
    "SOAP_ENV",
    "XML_CONTENT_TYPE",
    "FaultCode",
    "SoapApp",
    "SoapFault",
    "XmlRejected",
    "hardened_parser",
    "parse_untrusted",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
FaultCode = Literal["NOT_FOUND", "INVALID_INPUT", "INTERNAL_ERROR", "AUTH_REQUIRED", "AUTH_FAILED"]

_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_HEADER = f"{{{SOAP_ENV}}}Header"
_BODY = f"{{{SOAP_ENV}}}Body"
_FAULT = f"{{{SOAP_ENV}}}Fault"
_FOREIGN_NAMESPACE = b"urn:gr:sandbox:unexpected:v9"
_ADDRESS = re.compile(r'(<soap:address\s+location=")[^"]*(")')
_NESTING_DEPTH = 100_000
#: How many serialised answers each SOAP registry keeps (oldest evicted first).
_ANSWER_CACHE = 4096
_TEXT = "text/plain; charset=utf-8"


def hardened_parser() -> Any:
    """An lxml parser that loads no DTD, resolves no entity and opens no URL.

    lxml parsers are not thread-safe: make one per thread (per registry app).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )


class XmlRejected(ValueError):
    """The bytes are not a well-formed XML document free of DTDs."""


def parse_untrusted(body: bytes, parser: Any) -> Any:
    """Parse ``body`` with ``parser``, refusing anything with a DTD."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise XmlRejected("document type declarations are not accepted")
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRejected("the body is not well-formed XML") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRejected("document type declarations are not accepted")
    return root


class SoapFault(Exception):
    """An error that leaves as a SOAP Fault; ``code`` goes into the detail."""

    def __init__(
        self,
        code: FaultCode,
        message: str,
        *,
        faultcode: str = "soap:Client",
        status: int = 500,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.faultcode = faultcode
        self.status = status


#: Appends the answer about a citizen to the SOAP Body it is given.
Operation = Callable[[Citizen, Any], None]


class SoapApp(SandboxApp):
    """A SOAP 1.1 registry: GET ``/?wsdl`` for the contract, POST ``/`` to call it.

    A subclass sets ``namespace`` and ``prefix`` and fills ``operations``: the
    local name of each request element mapped to a function that appends the
    answer about the citizen the request names to the SOAP Body it is given.
    """

    namespace = ""
    prefix = ""
    #: Extra namespaces a fault code may use, by prefix.
    fault_namespaces: dict[str, str] = {}  # noqa: RUF012  # Read-only class constant.

    def __init__(
        self,
        population: Population,
        faults: Faults | None = None,
        *,
        wsdl_path: Path,
        base_url: str,
    ) -> None:
        super().__init__(population, faults)
        self._parser = hardened_parser()
        wsdl = wsdl_path.read_text(encoding="utf-8")
        self._wsdl = _ADDRESS.sub(lambda m: f"{m.group(1)}{base_url}/{m.group(2)}", wsdl).encode()
        self._nsmap = {"soap": SOAP_ENV, self.prefix: self.namespace}
        self._ns = f"{{{self.namespace}}}"
        self.operations: dict[str, Operation] = {}
        self._answers: dict[tuple[str, int], bytes] = {}

    # Routing.

    def is_operation(self, request: Request) -> bool:
        return request.method == "POST"

    def handle(self, request: Request) -> Response:
        if request.method == "GET":
            return self._get(request)
        if request.method != "POST":
            return Response(405, _TEXT, b"method not allowed")
        if request.path != "/":
            return Response(404, _TEXT, b"not found")
        try:
            return self._call(request.body)
        except SoapFault as fault:
            return self.fault(fault)

    def _get(self, request: Request) -> Response:
        if request.path == "/" and request.query.lower() in ("wsdl", "wsdl="):
            return Response(200, XML_CONTENT_TYPE, self._wsdl)
        if request.path == "/health":
            return Response(200, _TEXT, b"ok")
        return Response(404, _TEXT, b"not found")

    def _call(self, body: bytes) -> Response:
        try:
            root = parse_untrusted(body, self._parser)
        except XmlRejected as exc:
            raise SoapFault("INVALID_INPUT", str(exc)) from exc
        if root.tag != _ENVELOPE:
            raise SoapFault("INVALID_INPUT", "the document is not a SOAP 1.1 Envelope")
        header = root.find(_HEADER)
        payload = root.find(_BODY)
        if payload is None or len(payload) == 0:
            raise SoapFault("INVALID_INPUT", "the SOAP Body is missing or empty")
        self.check_header(header)
        request = payload[0]
        tag = request.tag if isinstance(request.tag, str) else ""
        name = tag[len(self._ns) :] if tag.startswith(self._ns) else ""
        operation = self.operations.get(name)
        if operation is None:
            raise SoapFault("INVALID_INPUT", "the Body names no operation of this service")
        citizen = self.citizen_from(request)
        # Answers depend only on the operation and the citizen, so they are
        # built once and kept: the hot path is then a parse and a lookup.
        key = (name, citizen.index)
        answer = self._answers.get(key)
        if answer is None:
            envelope = etree.Element(_ENVELOPE, nsmap=self._nsmap)
            operation(citizen, etree.SubElement(envelope, _BODY))
            answer = _serialise(envelope)
            if len(self._answers) >= _ANSWER_CACHE:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = answer
        return Response(200, XML_CONTENT_TYPE, answer)

    def check_header(self, header: Any) -> None:
        """Inspect the SOAP Header; raise SoapFault to refuse the call."""

    # Helpers for operations.

    def add(self, parent: Any, name: str, text: str | None = None) -> Any:
        """Append a child in this service's namespace, with optional text."""
        element = etree.SubElement(parent, self._ns + name)
        if text is not None:
            element.text = text
        return element

    def citizen_from(self, request: Any) -> Citizen:
        """The citizen a request names by ``afm`` or ``amka``, or a fault."""
        afm = (request.findtext(self._ns + "afm") or "").strip()
        amka = (request.findtext(self._ns + "amka") or "").strip()
        if bool(afm) == bool(amka):
            raise SoapFault("INVALID_INPUT", "give exactly one of afm or amka")
        # The lookups validate too; the check is repeated only to explain a miss.
        if afm:
            citizen = self.population.by_afm(afm)
            if citizen is None and not is_valid_afm(afm):
                raise SoapFault("INVALID_INPUT", "the AFM is not 9 digits with a valid check digit")
        else:
            citizen = self.population.by_amka(amka)
            if citizen is None and not is_valid_amka(amka):
                raise SoapFault(
                    "INVALID_INPUT", "the AMKA is not 11 digits with a date and a valid check digit"
                )
        if citizen is None:
            raise SoapFault("NOT_FOUND", "no person is registered under this identifier")
        return citizen

    # Faults.

    def fault(self, fault: SoapFault) -> Response:
        nsmap = dict(self._nsmap)
        nsmap.update(self.fault_namespaces)
        envelope = etree.Element(_ENVELOPE, nsmap=nsmap)
        element = etree.SubElement(etree.SubElement(envelope, _BODY), _FAULT)
        etree.SubElement(element, "faultcode").text = fault.faultcode
        etree.SubElement(element, "faultstring").text = fault.message
        detail = self.add(etree.SubElement(element, "detail"), "RegistryFault")
        self.add(detail, "code", fault.code)
        self.add(detail, "message", fault.message)
        return Response(fault.status, XML_CONTENT_TYPE, _serialise(envelope))

    def server_error(self) -> Response:
        return self.fault(
            SoapFault("INTERNAL_ERROR", "the registry failed", faultcode="soap:Server")
        )

    def too_large(self) -> Response:
        return self.fault(SoapFault("INVALID_INPUT", "the request body is too large", status=413))

    # Hostile answers.

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        body = normal.body
        start = body.index(b"?>") + 2 if body.startswith(b"<?xml") else 0
        declaration, document = body[:start], body[start:]
        if mode == "wrong_namespace":
            return Response(
                200, XML_CONTENT_TYPE, body.replace(self.namespace.encode(), _FOREIGN_NAMESPACE)
            )
        if mode == "xxe":
            doctype = b'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            return Response(
                200, XML_CONTENT_TYPE, declaration + doctype + _inject(document, b"&xxe;")
            )
        if mode == "billion_laughs":
            return Response(
                200, XML_CONTENT_TYPE, declaration + _LAUGHS + _inject(document, b"&lol9;")
            )
        if mode == "dtd":
            doctype = b'<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/registry.dtd">'
            return Response(200, XML_CONTENT_TYPE, declaration + doctype + document)
        opening = (
            b'<?xml version="1.0" encoding="utf-8"?>'
            b'<soap:Envelope xmlns:soap="' + SOAP_ENV.encode() + b'"><soap:Body>'
        )
        closing = b"</soap:Body></soap:Envelope>"
        if mode == "deep_nesting":
            nested = b"<n>" * _NESTING_DEPTH + b"</n>" * _NESTING_DEPTH
            return Response(200, XML_CONTENT_TYPE, opening + nested + closing)
        element = f"{self.prefix}:Padding".encode()
        prefix = (
            opening
            + b"<"
            + element
            + b" xmlns:"
            + self.prefix.encode()
            + b'="'
            + self.namespace.encode()
            + b'">'
        )
        suffix = b"</" + element + b">" + closing
        return Response(
            200, XML_CONTENT_TYPE, stream=padded_stream(prefix, suffix, self.faults.huge_bytes)
        )


def _serialise(envelope: Any) -> bytes:
    data: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return data


def _inject(document: bytes, reference: bytes) -> bytes:
    """Put an entity reference into the first text-bearing element of the Body."""
    body = document.find(b":Body>")
    closing = document.find(b"</", body if body >= 0 else 0)
    if closing < 0:
        return document
    return document[:closing] + reference + document[closing:]


_LAUGHS = laughs_doctype(b"soap:Envelope")
