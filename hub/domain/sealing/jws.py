"""JSON seals: compact JWS (RFC 7515, ES256) with ``kid`` and ``x5c``.

Evidence sent to an agency and the token in a certificate's QR code are JSON
objects sealed with the hub's seal key. The signing input is built here and
signed through the ``KeyStore`` port (so an HSM can hold the key); the payload
is RFC 8785 canonical JSON, so the same record always yields the same bytes.

Verification accepts exactly one form — compact serialisation, ES256, strict
unpadded base64url, no ``crit`` and no unencoded payload — so it parses the
token itself (a generic JOSE library re-validated the ``x5c`` header's
base64 character by character, twice, which was most of the cost), checks the
signature with ``cryptography`` and the X.509 part with ``Trust``, and always
answers with a ``JwsReport``: a forged or broken token is a report, never an
exception. Interoperability with a general JOSE library is covered by a test.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding

from hub.domain.canonical import NotCanonicalisable, canonical_json
from hub.domain.encoding import b64url, unb64url
from hub.domain.sealing.errors import SealingError
from hub.domain.sealing.keystore import KeyPurpose, KeyStore
from hub.domain.sealing.pki import certificate_kid
from hub.domain.sealing.report import (
    Indication,
    Status,
    SubIndication,
    report_head,
    status_for,
)
from hub.domain.sealing.trust import NOT_THE_HUBS_SEAL, Trust

__all__ = [
    "MAX_TOKEN_LENGTH",
    "JwsReport",
    "KeyStoreJsonSealer",
    "canonical_json",
    "record_digest",
    "seal_json",
    "sign_compact",
    "verify_jws",
]

#: Longer tokens are refused before any parsing; a seal is a few kilobytes.
MAX_TOKEN_LENGTH = 64 * 1024

# A signer's clock may run a little ahead of the verifier's.
_CLOCK_SKEW = timedelta(minutes=5)

_ES256 = ec.ECDSA(hashes.SHA256())


def _canonical(value: Any) -> bytes:
    # What cannot be canonicalised cannot be sealed: a sealing error here.
    try:
        return canonical_json(value)
    except NotCanonicalisable as exc:
        raise SealingError(f"record is not canonicalisable JSON: {exc}") from exc


def record_digest(record: Any) -> str:
    """base64url SHA-256 of the canonical JSON of ``record``."""
    return b64url(hashlib.sha256(_canonical(record)).digest())


def sign_compact(
    payload: Mapping[str, Any],
    keystore: KeyStore,
    *,
    purpose: KeyPurpose = KeyPurpose.SEAL,
    with_x5c: bool = True,
    typ: str | None = "JOSE",
    extra_headers: Mapping[str, Any] | None = None,
) -> str:
    """A compact ES256 JWS over canonical ``payload`` with the current key of ``purpose``.

    ``x5c`` (signing certificate, then issuing CA) is added for certified
    keys unless ``with_x5c`` is false, as for the QR token, where the ``kid``
    points at the published keys instead.
    """
    record = keystore.current(purpose)
    if record.algorithm != "ES256":
        raise SealingError(f"{purpose} key is {record.algorithm}, not ES256")
    header: dict[str, Any] = {"alg": "ES256", "kid": record.kid}
    if typ:
        header["typ"] = typ
    if with_x5c:
        chain = keystore.certificate_chain(record.kid)
        if chain:
            header["x5c"] = [_x5c_entry(c) for c in chain]
    if extra_headers:
        header.update(extra_headers)
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
        + "."
        + b64url(_canonical(dict(payload)))
    )
    der = keystore.sign(record.kid, signing_input.encode("ascii"))
    r, s = decode_dss_signature(der)
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def seal_json(
    payload: Mapping[str, Any], keystore: KeyStore, *, now: datetime | None = None
) -> str:
    """Seal a JSON object: adds ``iat`` (the signing time) unless present."""
    claims = dict(payload)
    claims.setdefault("iat", int((now or datetime.now(UTC)).timestamp()))
    return sign_compact(claims, keystore)


class KeyStoreJsonSealer:
    """The ``JsonSealer`` port over a key store: :func:`seal_json` with its current seal key."""

    def __init__(self, keystore: KeyStore) -> None:
        self._keystore = keystore

    def seal(self, payload: Mapping[str, Any]) -> str:
        return seal_json(payload, self._keystore)


@dataclass(frozen=True, slots=True)
class JwsReport:
    """What a verifier learns from a sealed JSON document."""

    status: Status
    indication: Indication
    sub_indication: SubIndication | None
    kid: str | None = None
    signer: str | None = None
    signing_time: datetime | None = None
    payload: dict[str, Any] | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return self.status is Status.VALID

    def to_dict(self) -> dict[str, Any]:
        return {
            **report_head(self),
            "reasons": list(self.reasons),
        }


def verify_jws(token: str | bytes, trust: Trust, *, now: datetime | None = None) -> JwsReport:
    """Validate a compact JWS seal against ``trust``; never raises on bad input.

    Checks, in order: the token's form and ``alg`` (ES256 only), the signing
    certificate (from ``x5c``, or the published one named by ``kid``), the
    signature, the ``iat`` claim, the path to a trusted root, revocation, and
    the certificate's validity at ``iat``.
    """
    moment = now or datetime.now(UTC)
    try:
        return _verify(token, trust, moment)
    except Exception as exc:  # any failure must become a report
        return _fail(SubIndication.FORMAT_FAILURE, f"unreadable token ({type(exc).__name__})")


def _verify(  # noqa: PLR0911  # one early return per check reads best
    token: str | bytes, trust: Trust, moment: datetime
) -> JwsReport:
    if isinstance(token, bytes):
        token = token.decode("ascii")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return _fail(SubIndication.FORMAT_FAILURE, "not a compact JWS")
    header_part, payload_part, signature_part = token.split(".")
    header, problem = _header(header_part)
    if header is None:
        return _fail(SubIndication.FORMAT_FAILURE, problem or "malformed JWS header")
    kid = header.get("kid")
    leaf, extra, problem = _signing_certificate(header, kid, trust)
    if leaf is None:
        sub = (
            SubIndication.FORMAT_FAILURE if problem else SubIndication.NO_SIGNING_CERTIFICATE_FOUND
        )
        return _fail(sub, problem or "the signing certificate is unknown", kid=kid)
    kid = certificate_kid(leaf)
    signer = leaf.subject.rfc4514_string()
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        return _fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, "not a P-256 key", kid=kid)
    try:
        payload_bytes = unb64url(payload_part)
        signature = unb64url(signature_part)
    except ValueError:
        return _fail(SubIndication.FORMAT_FAILURE, "malformed JWS", kid=kid, signer=signer)
    if not _signature_matches(key, f"{header_part}.{payload_part}", signature):
        return _fail(
            SubIndication.SIG_CRYPTO_FAILURE, "the signature does not match", kid=kid, signer=signer
        )
    payload = json.loads(payload_bytes)
    if not isinstance(payload, dict):
        return _fail(SubIndication.FORMAT_FAILURE, "the payload is not a JSON object", kid=kid)
    iat = payload.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        return _fail(SubIndication.FORMAT_FAILURE, "the payload has no integer iat", kid=kid)
    signed_at = datetime.fromtimestamp(iat, UTC)
    if signed_at > moment + _CLOCK_SKEW:
        return _fail(SubIndication.NOT_YET_VALID, "iat is in the future", kid=kid, signer=signer)
    chain = trust.check(leaf, at=signed_at, extra=extra, now=moment)
    if chain.sub_indication is None and not trust.is_hub_seal(leaf):
        # A certificate from the same outside CA as the hub's seal is someone
        # else's seal: it chains, and proves nothing the hub said.
        return _fail(SubIndication.CHAIN_CONSTRAINTS_FAILURE, NOT_THE_HUBS_SEAL, kid=kid)
    status, indication = status_for(chain.sub_indication)
    return JwsReport(
        status=status,
        indication=indication,
        sub_indication=chain.sub_indication,
        kid=kid,
        signer=signer,
        signing_time=signed_at,
        payload=payload,
        reasons=chain.reasons,
    )


def _header(  # noqa: PLR0911  # one return per check, in order, reads best
    part: str,
) -> tuple[dict[str, Any] | None, str | None]:
    """The protected header if it is one this verifier accepts, else why not."""
    try:
        header = json.loads(unb64url(part))
    except (ValueError, RecursionError):
        # RecursionError: a header nested deeper than the parser's stack.
        return None, "the JWS header is not valid JSON"
    if not isinstance(header, dict):
        return None, "the JWS header is not a JSON object"
    if header.get("alg") != "ES256":
        return None, "only ES256 seals are accepted"
    if "crit" in header:
        return None, "critical header extensions are not supported"
    if header.get("b64", True) is not True:
        return None, "unencoded payloads are not supported"
    if not isinstance(header.get("kid", ""), str):
        return None, "kid must be a string"
    return header, None


def _signing_certificate(
    header: Mapping[str, Any], kid: str | None, trust: Trust
) -> tuple[x509.Certificate | None, list[x509.Certificate], str | None]:
    x5c = header.get("x5c")
    if x5c is None:
        published = trust.certificate_for(kid) if kid else None
        return published, [], None
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        return None, [], "x5c must be a non-empty list of base64 certificates"
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (ValueError, binascii.Error):
        return None, [], "x5c holds a malformed certificate"
    if kid is not None and kid != certificate_kid(certs[0]):
        return None, [], "kid does not name the x5c signing certificate"
    return certs[0], certs[1:], None


def _fail(
    sub: SubIndication, reason: str, *, kid: str | None = None, signer: str | None = None
) -> JwsReport:
    status, indication = status_for(sub)
    return JwsReport(status, indication, sub, kid=kid, signer=signer, reasons=(reason,))


def _signature_matches(key: ec.EllipticCurvePublicKey, signing_input: str, raw: bytes) -> bool:
    # RFC 7518 §3.4: ES256 is R || S, 32 bytes each, big-endian.
    if len(raw) != 64:  # the size is the algorithm's
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, signing_input.encode("ascii"), _ES256)
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _x5c_entry(cert: x509.Certificate) -> str:
    # Certificates compare and hash by their DER, so the cache is content-keyed.
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
