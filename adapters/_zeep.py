"""A SOAP request's envelope and HTTP headers from zeep, without sending it.

The SOAP adapter sends requests itself (its own timeouts, retries and request
id), so it needs from zeep only what zeep would put on the wire. zeep's
binding has a private ``_create`` that returns exactly that: the envelope after
WS-Security and the client's plugins, and the HTTP headers (``SOAPAction``,
``Content-Type``). Its public ``Client.create_message`` builds the same
envelope (WS-Security and plugins included) but drops the headers.

``hub._patches`` calls :func:`install` at start-up for the zeep versions whose
``_create`` was read; otherwise :func:`build_request` rebuilds the same pair
from public parts: ``create_message`` for the envelope and the headers zeep's
SOAP 1.1 and 1.2 bindings set, plus the client's extra HTTP headers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from zeep.wsdl.bindings import Soap12Binding

__all__ = ["build_request", "install"]

_private = threading.Event()


def install() -> None:
    """Use zeep's private ``_create`` (idempotent; see ``hub._patches``)."""
    _private.set()


def build_request(
    client: Any,
    binding: Any,
    operation: str,
    params: Mapping[str, Any],
    *,
    service: Any = None,
) -> tuple[Any, dict[str, str]]:
    """The envelope and the HTTP headers zeep would send for ``operation``.

    ``service`` is the proxy of the port in use (``client.bind``); by default
    the WSDL's first port.
    """
    if _private.is_set():
        envelope, headers = binding._create(operation, (), dict(params), client=client)
        return envelope, dict(headers)
    envelope = client.create_message(service or client.service, operation, **params)
    action = binding.get(operation).soapaction
    if isinstance(binding, Soap12Binding):
        # zeep sends SOAPAction with SOAP 1.2 too (its message serialiser
        # sets it for both); the action that counts is in the Content-Type.
        headers = {
            "SOAPAction": f'"{action}"' if action else '""',
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"',
        }
    else:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
    if client.settings.extra_http_headers:
        headers.update(client.settings.extra_http_headers)
    return envelope, headers
