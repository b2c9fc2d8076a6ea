"""A SOAP request's envelope and HTTP headers from zeep, without sending it.

(And, further down, envelopes built once per operation and replies read
without zeep's general machinery, each with the conditions it holds under.)

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

import copy
import datetime as dt
import decimal
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from lxml import etree
from zeep import exceptions as zeep_exceptions
from zeep.wsdl.bindings import Soap12Binding

__all__ = [
    "UNREAD",
    "EnvelopeTemplate",
    "ReplyReader",
    "build_request",
    "envelope_bytes",
    "envelope_template",
    "install",
    "install_reader",
    "plain",
    "reply_reader",
]

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


# -- Requests built once ---------------------------------------------------
#
# For a registry without WS-Security or plugins, the envelope of an operation
# called with the same parameter names differs between calls only in the
# parameters' text; zeep builds it through its whole type machinery on every
# call (~0.1 ms). An :class:`EnvelopeTemplate` is zeep's envelope built once
# with a unique mark as each parameter's value; a call copies that tree and
# puts its values where the marks were. A template is only made when every
# mark is the whole text of exactly one element (not in an attribute, not
# part of a longer text) and when, for a probe value full of what a type
# could rewrite (markup characters, runs of white space, non-ASCII), zeep's
# own envelope and the template's are the same bytes. Anything else —
# WS-Security (timestamps, nonces, signatures), plugins, a parameter type
# that converts or normalises its value, zeep refusing the probe — leaves the
# operation to zeep on every call, as before.

#: A value a type that converts, validates or normalises would not pass through as is.
_PROBE = "  0<&>\"' \u00e9\u03a9\t\u00df\r\n  x  ]]>"


class EnvelopeTemplate:
    """The request of one operation, built by zeep once; :meth:`fill` makes each call's."""

    __slots__ = ("_slots", "_tree", "headers")

    def __init__(self, tree: Any, slots: dict[str, tuple[int, ...]], headers: dict[str, str]):
        self._tree = tree
        #: Parameter name -> the child indexes from the root to its element.
        self._slots = slots
        #: The HTTP headers zeep sends with the operation (SOAPAction, Content-Type).
        self.headers = headers

    def fill(self, params: Mapping[str, str]) -> bytes:
        """The envelope's bytes with ``params`` (every name of the template) as its values.

        A value XML cannot hold (a control character) raises ``ValueError``,
        as zeep's own envelope would.
        """
        root = copy.deepcopy(self._tree)
        for name, path in self._slots.items():
            node = root
            for index in path:
                node = node[index]
            node.text = params[name]
        return envelope_bytes(root)


def envelope_bytes(envelope: Any) -> bytes:
    """What goes on the wire for an envelope, built by zeep or from a template."""
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _slots(envelope: Any, marks: Mapping[str, str]) -> dict[str, tuple[int, ...]] | None:
    """Where each mark is an element's whole text; None if one is anywhere else."""
    found: dict[str, tuple[int, ...]] = {}
    by_mark = {mark: name for name, mark in marks.items()}
    pending: list[tuple[Any, tuple[int, ...]]] = [(envelope, ())]
    while pending:
        node, path = pending.pop()
        text = node.text or ""
        if text in by_mark and len(node) == 0:
            name = by_mark[text]
            if name in found:
                return None
            found[name] = path
        elif any(mark in text for mark in by_mark):
            return None
        outside = [node.tail or "", *node.attrib.values()]
        if any(mark in value for mark in by_mark for value in outside):
            return None
        pending.extend((child, (*path, index)) for index, child in enumerate(node))
    return found if len(found) == len(marks) else None


def envelope_template(
    client: Any, binding: Any, operation: str, names: frozenset[str], *, service: Any = None
) -> EnvelopeTemplate | None:
    """A template for ``operation`` called with parameters ``names``, or None (see above)."""
    if client.wsse is not None or client.plugins:
        return None
    marks = {name: f"oncehub-slot-{secrets.token_hex(16)}" for name in sorted(names)}
    probe = dict.fromkeys(marks, _PROBE)
    try:
        envelope, headers = build_request(client, binding, operation, marks, service=service)
        expected, probe_headers = build_request(client, binding, operation, probe, service=service)
    except (zeep_exceptions.Error, TypeError, ValueError, LookupError):
        return None
    slots = _slots(envelope, marks)
    if slots is None or headers != probe_headers:
        return None
    template = EnvelopeTemplate(envelope, slots, headers)
    if template.fill(probe) != envelope_bytes(expected):
        return None
    return template


# -- Replies ----------------------------------------------------------------
#
# zeep maps a reply onto Python values through its general XML Schema
# machinery (choices, groups, any, substitution), ~0.55 ms of CPU for a
# family-status reply against ~0.015 ms for lxml to parse it. The replies the
# hub reads are document/literal sequences of plain elements, so for such an
# operation a :class:`ReplyReader` is compiled once from zeep's own types and
# reads the canonical shape straight off the lxml tree, with each value
# converted by the same zeep type as zeep would use. Anything off that shape
# (a Fault, a header, an attribute such as xsi:nil or xsi:type, an element
# out of place, a value its type refuses, a comment or processing
# instruction, any parse error) is not judged here: the reader answers
# :data:`UNREAD` and the caller hands the reply to zeep, whose answer and
# errors are then what the hub sees. ``hub._patches`` enables the readers
# for the zeep versions whose type model was read (:func:`install_reader`).

_readers = threading.Event()

#: What :meth:`ReplyReader.read` answers for a reply it leaves to zeep.
UNREAD: Any = object()

_MAX_DEPTH = 32


def install_reader() -> None:
    """Let :func:`reply_reader` compile readers (idempotent; see ``hub._patches``)."""
    _readers.set()


class _Thread(threading.local):
    parser: Any = None


_LOCAL = _Thread()


def _parser() -> Any:
    # One hardened parser per thread (an lxml parser is not shared across
    # threads): no DTD, no entities, no network, no huge trees, and the
    # comments and processing instructions zeep's own parser drops.
    parser = _LOCAL.parser
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _LOCAL.parser = parser
    return parser


class _Unread(Exception):
    """The reply is off the compiled shape: zeep reads it."""


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


class _Simple:
    __slots__ = ("convert",)

    def __init__(self, xsd_type: Any) -> None:
        from zeep.xsd.types.builtins import String  # noqa: PLC0415

        #: None for the string types, whose Python value is the text itself.
        self.convert = (
            None if type(xsd_type).pythonvalue is String.pythonvalue else xsd_type.pythonvalue
        )

    def read(self, node: Any) -> Any:
        if len(node):
            raise _Unread
        text = node.text
        if text is None or self.convert is None:
            return text
        try:
            value = self.convert(text)
        except (TypeError, ValueError) as exc:
            raise _Unread from exc
        return plain(value)


class _Complex:
    __slots__ = ("children",)

    def __init__(self, children: list[tuple[str, str, bool, int, Any]]) -> None:
        #: (tag, key, many, min_occurs, reader) in sequence order.
        self.children = children

    def read(self, node: Any, top: bool = False) -> dict[str, Any] | None:
        if not _blank(node.text):
            raise _Unread
        items = list(node)
        at, count = 0, len(items)
        # zeep: a type without elements, or an element within the reply
        # that has no children (and no attributes), is None.
        if not self.children or (count == 0 and not top):
            return None
        value: dict[str, Any] = {}
        for tag, key, many, least, reader in self.children:
            found = []
            while at < count and items[at].tag == tag:
                item = items[at]
                if item.attrib or not _blank(item.tail):
                    raise _Unread
                found.append(reader.read(item))
                at += 1
                if not many:
                    break
            if len(found) < least:
                raise _Unread
            value[key] = found if many else (found[0] if found else None)
        if at != count:
            raise _Unread
        return value


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


class _Unsupported(Exception):
    """A type the readers do not compile: zeep reads its replies."""


def _compile(xsd_type: Any, seen: frozenset[int] = frozenset(), depth: int = 0) -> Any:
    """The reader of one zeep type; :class:`_Unsupported` for anything but plain sequences."""
    from zeep.xsd.elements import Element  # noqa: PLC0415
    from zeep.xsd.elements.indicators import Sequence  # noqa: PLC0415
    from zeep.xsd.types import ComplexType  # noqa: PLC0415
    from zeep.xsd.types.collection import ListType, UnionType  # noqa: PLC0415
    from zeep.xsd.types.simple import AnySimpleType  # noqa: PLC0415

    if depth > _MAX_DEPTH or id(xsd_type) in seen:
        raise _Unsupported
    if isinstance(xsd_type, AnySimpleType):
        if isinstance(xsd_type, ListType | UnionType):
            raise _Unsupported
        return _Simple(xsd_type)
    # zeep makes a subclass of ComplexType per named schema type.
    kind = type(xsd_type)
    if not (kind is ComplexType or kind.__bases__ == (ComplexType,)) or xsd_type.attributes:
        raise _Unsupported
    sequence = xsd_type._element
    if type(sequence) is not Sequence:
        raise _Unsupported
    children = []
    inner = seen | {id(xsd_type)}
    for item in sequence:
        if type(item) is not Element or item.qname is None:
            raise _Unsupported
        reader = _compile(item.type, inner, depth + 1)
        many = item.max_occurs != 1
        children.append((item.qname.text, str(item.attr_name), many, int(item.min_occurs), reader))
    if [key for _, key, *_ in children] != [name for name, _ in xsd_type.elements]:
        raise _Unsupported
    return _Complex(children)


class ReplyReader:
    """Reads one operation's successful reply as zeep would, or leaves it to zeep."""

    def __init__(self, envelope: str, body: str, part: str | None, reader: _Complex) -> None:
        self._envelope = envelope
        self._body = body
        #: The one element in the Body, or None when the Body is the message.
        self._part = part
        self._reader = reader

    def read(self, content: bytes) -> Any:
        """The reply as ``plain(serialize_object(zeep_result))``, or :data:`UNREAD`."""
        try:
            root = etree.fromstring(content, parser=_parser())
            if root.getroottree().docinfo.doctype or root.tag != self._envelope or root.attrib:
                return UNREAD
            children = list(root)
            if len(children) != 1 or children[0].tag != self._body or children[0].attrib:
                return UNREAD
            node = children[0]
            if self._part is not None:
                parts = list(node)
                if len(parts) != 1 or not _blank(node.text) or not _blank(parts[0].tail):
                    return UNREAD
                node = parts[0]
                if node.tag != self._part or node.attrib:
                    return UNREAD
            value = self._reader.read(node, top=True)
        except (_Unread, etree.LxmlError, ValueError, TypeError, RecursionError):
            return UNREAD
        return self._unwrapped(value)

    def _unwrapped(self, value: dict[str, Any] | None) -> Any:
        # zeep's DocumentMessage.deserialize: a message of one field answers
        # that field, and a field whose type holds one element (and no
        # attributes) answers that element.
        fields = self._reader.children
        if not fields or value is None:
            return None
        if len(fields) > 1:
            return value
        _, key, many, _, reader = fields[0]
        inner = value[key]
        if (
            not many
            and isinstance(reader, _Complex)
            and inner is not None
            and len(reader.children) == 1
        ):
            return inner[reader.children[0][1]]
        return inner


def reply_reader(client: Any, binding: Any, operation: str) -> ReplyReader | None:
    """A compiled reader for ``operation``'s replies, or None where zeep must read them.

    None unless :func:`install_reader` ran; for a reply whose checks zeep
    runs (a WS-Security signature, plugins); and for any message that is not
    document/literal plain element sequences.
    """
    if not _readers.is_set():
        return None
    try:
        return _reply_reader(client, binding, operation)
    except (_Unsupported, AttributeError, TypeError, ValueError, LookupError):
        return None


def _reply_reader(client: Any, binding: Any, operation: str) -> ReplyReader:
    from zeep.wsdl.messages.soap import DocumentMessage  # noqa: PLC0415
    from zeep.wsse.compose import Compose  # noqa: PLC0415
    from zeep.wsse.username import UsernameToken  # noqa: PLC0415

    wsse = client.wsse
    checks = wsse.wsse_objects if isinstance(wsse, Compose) else [] if wsse is None else [wsse]
    # A UsernameToken's ``verify`` does nothing; any other check must run.
    if any(type(check) is not UsernameToken for check in checks) or client.plugins:
        raise _Unsupported
    output = binding.get(operation).output
    if (
        type(output) is not DocumentMessage
        or output.body is None
        or output.header is None
        or output.header.type._element
        or output.body.max_occurs != 1
        or output.body.qname is None
    ):
        raise _Unsupported
    reader = _compile(output.body.type)
    if not isinstance(reader, _Complex):
        raise _Unsupported
    namespace = output.nsmap["soap-env"]
    envelope, body = f"{{{namespace}}}Envelope", f"{{{namespace}}}Body"
    if not output._is_body_wrapped:
        return ReplyReader(envelope, body, output.body.qname.text, reader)
    if output.body.qname.text != body:
        raise _Unsupported
    return ReplyReader(envelope, body, None, reader)
