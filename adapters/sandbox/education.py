"""The sandbox education registry: SOAP 1.2, UsernameToken digest, for mutual TLS.

It exists so that onboarding a SOAP registry by files only (issue 16) is
tested against one that asks for everything the social-security sandbox
does not: SOAP 1.2 envelopes (``application/soap+xml``), a WS-Security
UsernameToken with a *digest* password (OASIS UsernameToken Profile 1.1:
Base64(SHA-1(nonce + created + password))) with fresh timestamps and
single-use nonces, and, when served with :func:`tls_server_options`, a client
certificate from its test CA. Its contract is the WSDL beside the test
catalogue (``tests/fixtures/catalog_onboarding/registries/education.wsdl``).

``POST /`` with ``GetQualificationsRequest`` answers the citizen's degrees
(derived from the synthetic population), ``GET /health`` answers ok. Errors
leave as SOAP 1.2 Faults (``env:Sender`` / ``env:Receiver``) with a code in
the detail; a SOAP 1.1 envelope gets a VersionMismatch fault.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
import time
from typing import Any

from lxml import etree  # type: ignore[import-untyped,unused-ignore]

from adapters.sandbox._asgi import Request, Response, SandboxApp
from adapters.sandbox._soap import XmlRejected, hardened_parser, parse_untrusted
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.population import REFERENCE_DATE, Citizen, Population
from hub.domain.identity import is_valid_amka

__all__ = ["DEFAULT_USER", "EducationRegistry", "qualifications_of"]

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = "urn:gr:sandbox:education"
_WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
_WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_DIGEST = _PROFILE + "#PasswordDigest"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
#: The user name and password the sandbox accepts unless told otherwise.
DEFAULT_USER = ("hub", "education-sandbox-secret")
#: How far a token's Created may be from now, either way.
_FRESHNESS = 300.0
_INSTITUTIONS = ("University of Athens", "Aristotle University", "University of Patras")
_TITLES = (
    ("Bachelor of Science in Physics", "bachelor"),
    ("Bachelor of Laws", "bachelor"),
    ("Master of Engineering", "master"),
    ("Doctor of Philosophy in History", "doctorate"),
)


class _Fault(Exception):
    def __init__(self, code: str, reason: str, *, sender: bool = True, status: int = 400) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.sender = sender
        self.status = status


def qualifications_of(citizen: Citizen) -> list[tuple[str, str, str, dt.date]]:
    """Degrees by the AMKA's digest: none before 22, up to two after."""
    if citizen.age < 22:
        return []
    digest = hashlib.sha256(citizen.amka.encode()).digest()
    found = []
    for n in range(digest[0] % 3):
        title, level = _TITLES[digest[1 + n] % len(_TITLES)]
        awarded = citizen.birth_date.replace(day=1) + dt.timedelta(days=365 * (22 + 2 * n))
        found.append((title, level, _INSTITUTIONS[digest[4 + n] % len(_INSTITUTIONS)], awarded))
    return found


class EducationRegistry(SandboxApp):
    """Qualifications by AMKA, for a client proving its password by digest."""

    registry_id = "education"

    def __init__(
        self,
        population: Population,
        faults: Faults | None = None,
        *,
        user: tuple[str, str] = DEFAULT_USER,
    ) -> None:
        super().__init__(population, faults)
        self._user = user[0].encode()
        self._password = user[1].encode()
        self._local = threading.local()
        self._nonces: dict[bytes, float] = {}
        self._lock = threading.Lock()
        #: Calls answered, for tests.
        self.answered = 0

    def _parser(self) -> Any:
        parser = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = hardened_parser()
        return parser

    def is_operation(self, request: Request) -> bool:
        return request.method == "POST"

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/health":
            return Response(200, "application/json", b'{"status":"ok"}')
        if request.method != "POST" or request.path != "/":
            return Response(404, "text/plain; charset=utf-8", b"not found")
        try:
            return self._call(request)
        except _Fault as fault:
            return self._fault(fault)

    def _call(self, request: Request) -> Response:
        content_type = request.headers.get(b"content-type", b"").decode("latin-1").lower()
        try:
            root = parse_untrusted(request.body, self._parser())
        except XmlRejected as exc:
            raise _Fault("INVALID_INPUT", str(exc)) from exc
        if root.tag != f"{{{SOAP12}}}Envelope" or "application/soap+xml" not in content_type:
            raise _Fault("VERSION_MISMATCH", "SOAP 1.2 envelopes only", status=400)
        self._check_token(root.find(f"{{{SOAP12}}}Header"))
        body = root.find(f"{{{SOAP12}}}Body")
        ask = body.find(f"{{{NS}}}GetQualificationsRequest") if body is not None else None
        if ask is None:
            raise _Fault("INVALID_INPUT", "GetQualificationsRequest expected")
        amka = (ask.findtext(f"{{{NS}}}Student/{{{NS}}}Amka") or "").strip()
        if not is_valid_amka(amka):
            raise _Fault("INVALID_INPUT", "invalid AMKA")
        citizen = self.population.by_amka(amka)
        if citizen is None:
            raise _Fault("NOT_FOUND", "no such student")
        level = (ask.findtext(f"{{{NS}}}Level") or "").strip()
        with self._lock:
            self.answered += 1
        return self._answer(citizen, level)

    def _check_token(self, header: Any) -> None:
        token = None if header is None else header.find(f"{_WSSE}Security/{_WSSE}UsernameToken")
        if token is None:
            raise _Fault("AUTH_REQUIRED", "a WS-Security UsernameToken is required")
        password = token.find(f"{_WSSE}Password")
        nonce_text = token.findtext(f"{_WSSE}Nonce") or ""
        created = token.findtext(f"{_WSU}Created") or ""
        if password is None or password.get("Type") != PASSWORD_DIGEST or not nonce_text:
            raise _Fault("AUTH_FAILED", "a password digest with a nonce is required")
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _Fault("AUTH_FAILED", "malformed nonce or timestamp") from exc
        if when.tzinfo is None or abs(time.time() - when.timestamp()) > _FRESHNESS:
            raise _Fault("AUTH_FAILED", "the token is not fresh")
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + self._password).digest()  # noqa: S324 - the profile's
        )
        user = (token.findtext(f"{_WSSE}Username") or "").encode()
        user_ok = hmac.compare_digest(user, self._user)
        digest_ok = hmac.compare_digest((password.text or "").strip().encode(), expected)
        if not (user_ok and digest_ok):
            raise _Fault("AUTH_FAILED", "the security token could not be authenticated")
        now = time.monotonic()
        with self._lock:
            self._nonces = {n: t for n, t in self._nonces.items() if t > now}
            if nonce in self._nonces:
                raise _Fault("AUTH_FAILED", "the nonce was used before")
            self._nonces[nonce] = now + 2 * _FRESHNESS

    def _envelope(self) -> tuple[Any, Any]:
        envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"env": SOAP12, "ed": NS})
        return envelope, etree.SubElement(envelope, f"{{{SOAP12}}}Body")

    def _answer(self, citizen: Citizen, level: str) -> Response:
        envelope, body = self._envelope()
        answer = etree.SubElement(body, f"{{{NS}}}GetQualificationsResponse")
        etree.SubElement(answer, f"{{{NS}}}AsOf").text = REFERENCE_DATE.isoformat()
        for title, grade, institution, awarded in qualifications_of(citizen):
            if level and level != grade:
                continue
            item = etree.SubElement(answer, f"{{{NS}}}Qualification")
            etree.SubElement(item, f"{{{NS}}}Title").text = title
            etree.SubElement(item, f"{{{NS}}}Level").text = grade
            etree.SubElement(item, f"{{{NS}}}Institution").text = institution
            etree.SubElement(item, f"{{{NS}}}Awarded").text = awarded.isoformat()
        return Response(
            200, CONTENT_TYPE, etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        )

    def _fault(self, fault: _Fault) -> Response:
        envelope, body = self._envelope()
        element = etree.SubElement(body, f"{{{SOAP12}}}Fault")
        code = etree.SubElement(element, f"{{{SOAP12}}}Code")
        value = (
            "VersionMismatch"
            if fault.code == "VERSION_MISMATCH"
            else ("Sender" if fault.sender else "Receiver")
        )
        etree.SubElement(code, f"{{{SOAP12}}}Value").text = f"env:{value}"
        reason = etree.SubElement(element, f"{{{SOAP12}}}Reason")
        text = etree.SubElement(reason, f"{{{SOAP12}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = fault.reason
        detail = etree.SubElement(element, f"{{{SOAP12}}}Detail")
        registry_fault = etree.SubElement(detail, f"{{{NS}}}RegistryFault")
        etree.SubElement(registry_fault, f"{{{NS}}}code").text = fault.code
        status = 500 if not fault.sender else fault.status
        return Response(
            status, CONTENT_TYPE, etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        )

    def server_error(self) -> Response:
        return self._fault(_Fault("INTERNAL_ERROR", "internal error", sender=False, status=500))

    def too_large(self) -> Response:
        return self._fault(_Fault("TOO_LARGE", "request too large", status=413))

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        return normal
