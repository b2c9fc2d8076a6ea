"""SOAP registries through zeep, with the WSDL read from ``specs/registries``.

zeep builds each request envelope from the WSDL (WS-Security UsernameToken
included where configured) and parses each reply with DTDs, entities and
external references forbidden. The HTTP exchange itself goes through the
same exchange as the REST adapter, under one hard deadline from connect to
the last body byte and read in bounded chunks, so a slow, huge or hostile
reply costs at most the call's budget and a fixed amount of memory.
The WSDL is loaded once, at start-up, from disk: never fetched.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.helpers import serialize_object
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from adapters._zeep import build_request
from adapters.resilience import Policy, Resilient
from adapters.rest import exchange, pooled_session
from hub.errors import (
    CitizenNotFound,
    ConfigError,
    RegistryError,
)

__all__ = ["SoapRegistryClient", "plain"]

#: Fault detail codes the sandbox and the real registries use for "no such person".
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "PERSON_NOT_FOUND", "UNKNOWN_PERSON"})


def plain(value: Any) -> Any:
    """zeep's objects as JSON-like data: dicts, lists, ISO dates, numbers."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class _Reply:
    """The parts of an HTTP reply that zeep's reply processing reads."""

    def __init__(self, status_code: int, content: bytes, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers
        self.encoding = "utf-8"


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
    """A :class:`hub.domain.ports.RegistryClient` for a SOAP registry."""

    def __init__(
        self,
        name: str,
        wsdl: Path,
        endpoint: str,
        policy: Policy,
        *,
        username: str | None = None,
        password: str | None = None,
        resilient: Resilient | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.resilient = resilient or Resilient(name, policy)
        self.session = pooled_session(endpoint, policy, ca_file=ca_file)
        settings = zeep.Settings(
            strict=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        wsse = UsernameToken(username, password) if username is not None else None
        try:
            self.client = zeep.Client(
                str(wsdl),
                settings=settings,
                transport=Transport(session=requests.Session()),
                wsse=wsse,
            )
        except (OSError, zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            raise ConfigError(f"cannot load the WSDL of registry {name} from {wsdl}") from exc
        self.binding = self.client.service._binding

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        try:
            known = self.binding.get(operation) is not None
        except ValueError:
            known = False
        if not known:
            raise RegistryError(f"registry {self.name} has no operation {operation}")
        return self.resilient.call(
            lambda budget: self._once(operation, params, budget, request_id), idempotent=True
        )

    def _once(
        self, operation: str, params: Mapping[str, str], budget: float, request_id: str
    ) -> Any:
        try:
            envelope, headers = build_request(self.client, self.binding, operation, params)
        except (zeep.exceptions.Error, TypeError, ValueError) as exc:
            raise RegistryError(f"cannot build a {operation} request for {self.name}") from exc
        response, body = exchange(
            self.session,
            "POST",
            self.endpoint,
            name=self.name,
            budget=budget,
            headers={**headers, "X-Request-ID": request_id},
            data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
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

    def close(self) -> None:
        self.session.close()
