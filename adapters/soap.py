"""SOAP registries through zeep, with the WSDL read from ``specs/registries``.

zeep builds each request envelope from the WSDL (WS-Security UsernameToken
included where configured) and parses each reply with DTDs, entities and
external references forbidden. The HTTP exchange itself goes through the
same exchange as the REST adapter, under one hard deadline from connect to
the last body byte and read in bounded chunks, so a slow, huge or hostile
reply costs at most the call's budget and a fixed amount of memory.
The WSDL is loaded once, at start-up, from disk: never fetched.

The catalogue picks the binding (``soap11`` or ``soap12``: the WSDL's port
with that binding), how the hub authenticates (a WS-Security UsernameToken
as text or digest, an X.509 signature of the body and timestamp made with
xmlsec, a client certificate for mutual TLS) and, per operation, the WSDL
operation, its input as a template filled from the call's parameters and
its ``answer:`` as JSON Pointers into the reply, as for REST registries.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsdl.bindings import Soap11Binding, Soap12Binding
from zeep.wsse.compose import Compose
from zeep.wsse.username import UsernameToken

from adapters._auth import Access, session_tls
from adapters._zeep import (
    UNREAD,
    EnvelopeTemplate,
    ReplyReader,
    build_request,
    envelope_bytes,
    envelope_template,
    plain,
    reply_reader,
)
from adapters.resilience import Policy, Resilient
from adapters.rest import exchange, fill, pointer, pooled_session, prepared
from hub.errors import (
    CitizenNotFound,
    ConfigError,
    RegistryError,
)

__all__ = ["SoapRegistryClient", "plain"]

#: Fault detail codes the sandbox and the real registries use for "no such person".
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "PERSON_NOT_FOUND", "UNKNOWN_PERSON"})


class _Reply:
    """The parts of an HTTP reply that zeep's reply processing reads."""

    def __init__(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers
        self.encoding = "utf-8"


def _signature(name: str, access: Access) -> Any:
    """An X.509 signature of each request (and a check of each reply, given the registry's cert).

    zeep signs with xmlsec; the import is here so that a hub whose registries
    want no signature runs without it.
    """
    if access.signing_key is None or access.signing_cert is None:
        raise ConfigError(
            f"registry {name} wants signed requests: set HUB_REGISTRY_SIGNING_KEY_<NAME> and "
            "HUB_REGISTRY_SIGNING_CERT_<NAME>"
        )
    try:
        from zeep.wsse.signature import BinarySignature, verify_envelope  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - xmlsec is a dependency
        raise ConfigError(f"registry {name} wants signed requests and xmlsec is missing") from exc
    reply_cert = access.registry_cert

    class Signed(BinarySignature):
        """Signs with the hub's key; checks replies against the registry's certificate."""

        def verify(self, envelope: Any) -> Any:
            if reply_cert is not None:
                verify_envelope(envelope, str(reply_cert))
            return envelope

    import xmlsec  # noqa: PLC0415 - as above

    try:
        key = load_pem_private_key(access.signing_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"registry {name}: cannot read its signing key") from exc
    # zeep would sign with RSA-SHA1 unless told: SHA-256 with the key's own algorithm.
    if isinstance(key, ec.EllipticCurvePrivateKey):
        method = xmlsec.constants.TransformEcdsaSha256
    elif isinstance(key, rsa.RSAPrivateKey):
        method = xmlsec.constants.TransformRsaSha256
    else:
        raise ConfigError(f"registry {name}: the signing key must be EC or RSA")
    try:
        return Signed(
            str(access.signing_key),
            str(access.signing_cert),
            signature_method=method,
            digest_method=xmlsec.constants.TransformSha256,
        )
    except (OSError, ValueError, xmlsec.Error) as exc:
        raise ConfigError(f"registry {name}: cannot read its signing key or certificate") from exc


def _wsse(name: str, auth: Mapping[str, Any], access: Access) -> Any:
    """The WS-Security the catalogue's ``auth:`` asks for, or None."""
    kind = auth.get("kind", "none")
    parts: list[Any] = []
    if kind == "username_token" or (kind == "x509_signature" and auth.get("username_token")):
        if access.credentials is None:
            raise ConfigError(f"registry {name} needs HUB_REGISTRY_CREDENTIALS_<NAME>")
        user, password = access.credentials
        parts.append(UsernameToken(user, password, use_digest=auth.get("digest") is True))
    if kind == "x509_signature":
        parts.append(_signature(name, access))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Compose(parts)


def _bound(client: zeep.Client, name: str, binding: str | None) -> Any:
    """The service proxy of the WSDL port whose binding the catalogue names."""
    if binding is None:
        return client.service
    kind = Soap12Binding if binding == "soap12" else Soap11Binding
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if type(port.binding) is kind:
                return client.bind(service.name, port.name)
    raise ConfigError(f"registry {name}: its WSDL has no {binding} port")


def _fault_code(fault: zeep.exceptions.Fault) -> str | None:
    detail = fault.detail
    # Without a Fault element zeep hands over the whole document as bytes.
    if not isinstance(detail, etree._Element):
        return None
    for element in detail.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname == "code":
            return (element.text or "").strip() or None
    return None


class SoapRegistryClient:
    """A :class:`hub.evidence.ports.RegistryClient` for a SOAP registry."""

    def __init__(
        self,
        name: str,
        wsdl: Path,
        endpoint: str,
        policy: Policy,
        *,
        resilient: Resilient | None = None,
        ca_file: Path | None = None,
        auth: Mapping[str, Any] | None = None,
        access: Access | None = None,
        binding: str | None = None,
        mutual_tls: bool = False,
        operations: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.resilient = resilient or Resilient(name, policy)
        self.session = pooled_session(endpoint, policy, ca_file=ca_file)
        access = access or Access(ca_file=ca_file)
        session_tls(self.session, name, mutual_tls, access)
        settings = zeep.Settings(
            strict=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        try:
            self.client = zeep.Client(
                str(wsdl),
                settings=settings,
                transport=Transport(session=requests.Session()),
                wsse=_wsse(name, auth or {}, access),
            )
        except (OSError, zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            raise ConfigError(f"cannot load the WSDL of registry {name} from {wsdl}") from exc
        self.service = _bound(self.client, name, binding)
        self.binding = self.service._binding
        #: Catalogue operation -> its WSDL operation and input template.
        self.operations = dict(operations or {})
        for operation, spec in self.operations.items():
            wsdl_name = str(spec.get("operation", operation))
            if not self._known(wsdl_name):
                raise ConfigError(f"registry {name}: its WSDL has no operation {wsdl_name}")
        #: WSDL operation -> its compiled reply reader, or None where zeep reads.
        self._readers: dict[str, ReplyReader | None] = {}
        #: (WSDL operation, parameter names) -> the envelope built once, or None
        #: where zeep builds each call's (adapters._zeep.envelope_template).
        self._envelopes: dict[tuple[str, frozenset[str]], EnvelopeTemplate | None] = {}
        #: (WSDL operation, zeep's headers) -> the request prepared once.
        self._templates: dict[tuple[str, frozenset[tuple[str, str]]], requests.PreparedRequest] = {}

    def _known(self, operation: str) -> bool:
        try:
            return self.binding.get(operation) is not None
        except ValueError:
            return False

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        spec = self.operations.get(operation, {})
        wsdl_name = str(spec.get("operation", operation))
        if not self._known(wsdl_name):
            raise RegistryError(f"registry {self.name} has no operation {operation}")
        arguments: Mapping[str, Any] = params
        if "input" in spec:
            try:
                arguments = fill(spec["input"], params)
            except KeyError as exc:
                raise RegistryError(
                    f"registry {self.name}: operation {operation} needs parameter {exc}"
                ) from exc
        answer = self.resilient.call(
            lambda budget: self._once(wsdl_name, arguments, budget, request_id), idempotent=True
        )
        shape = spec.get("answer")
        if shape:
            return {str(k): pointer(answer, str(v)) for k, v in shape.items()}
        return answer

    def _once(
        self, operation: str, params: Mapping[str, Any], budget: float, request_id: str
    ) -> Any:
        try:
            built = self._envelope(operation, params)
            if built is not None:
                data, headers = built.fill(params), built.headers
            else:
                envelope, headers = build_request(
                    self.client, self.binding, operation, params, service=self.service
                )
                data = envelope_bytes(envelope)
        except (zeep.exceptions.Error, TypeError, ValueError) as exc:
            raise RegistryError(f"cannot build a {operation} request for {self.name}") from exc
        key = (operation, frozenset(headers.items()))
        template = self._templates.get(key)
        if template is None:
            template = prepared(self.session, "POST", self.endpoint, headers)
            self._templates[key] = template
        response, body = exchange(
            self.session,
            "POST",
            self.endpoint,
            name=self.name,
            budget=budget,
            headers={"X-Request-ID": request_id},
            data=data,
            template=template,
        )
        reply = _Reply(response.status_code, body, response.headers)
        return self._parse(operation, reply)

    def _parse(self, operation: str, reply: _Reply) -> Any:
        content_type = str(reply.headers.get("Content-Type", "")).lower()
        if reply.status_code >= 500 and "xml" not in content_type:
            # A proxy's or server's error page, not a SOAP Fault: worth a retry.
            raise RegistryError(
                f"registry {self.name} failed (HTTP {reply.status_code})", transient=True
            )
        if b"<!DOCTYPE" in reply.content or b"<!ENTITY" in reply.content:
            # SOAP forbids a DTD; refuse it before any parser sees the bytes.
            raise RegistryError(f"registry {self.name} sent a hostile XML answer")
        if reply.status_code == 200 and "multipart" not in content_type:
            reader = self._reader(operation)
            if reader is not None:
                value = reader.read(reply.content)
                if value is not UNREAD:
                    return value
        try:
            result = self.binding.process_reply(self.client, self.binding.get(operation), reply)
        except zeep.exceptions.Fault as fault:
            code = _fault_code(fault)
            if code in NOT_FOUND_CODES:
                raise CitizenNotFound("The registry holds no such citizen.") from fault
            # A server-side fault may pass; a client-side or security one will
            # not. A 5xx without a Fault element is the server failing too.
            faultcode = str(fault.code or "").lower()
            server = any(word in faultcode for word in ("server", "receiver")) or (
                not faultcode and reply.status_code >= 500
            )
            raise RegistryError(
                f"registry {self.name} answered with a fault ({code or 'no code'})",
                transient=server,
            ) from fault
        except zeep.exceptions.SignatureVerificationFailed as exc:
            raise RegistryError(f"registry {self.name} sent a reply with a bad signature") from exc
        except (
            zeep.exceptions.DTDForbidden,
            zeep.exceptions.EntitiesForbidden,
            zeep.exceptions.ExternalReferenceForbidden,
        ) as exc:
            raise RegistryError(f"registry {self.name} sent a hostile XML answer") from exc
        except (zeep.exceptions.Error, etree.LxmlError, ValueError, TypeError) as exc:
            if reply.status_code >= 500:
                raise RegistryError(
                    f"registry {self.name} failed (HTTP {reply.status_code})", transient=True
                ) from exc
            raise RegistryError(f"registry {self.name} sent a malformed answer") from exc
        return plain(serialize_object(result, dict))

    def _envelope(self, operation: str, params: Mapping[str, Any]) -> EnvelopeTemplate | None:
        """The operation's envelope template for these parameter names, if it may have one."""
        if not all(isinstance(value, str) for value in params.values()):
            return None
        key = (operation, frozenset(params))
        try:
            return self._envelopes[key]
        except KeyError:
            template = envelope_template(
                self.client, self.binding, operation, key[1], service=self.service
            )
            self._envelopes[key] = template
            return template

    def _reader(self, operation: str) -> ReplyReader | None:
        try:
            return self._readers[operation]
        except KeyError:
            reader = reply_reader(self.client, self.binding, operation)
            self._readers[operation] = reader
            return reader

    def close(self) -> None:
        self.session.close()
