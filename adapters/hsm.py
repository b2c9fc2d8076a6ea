"""Keys in a PKCS#11 token (an HSM), named by PKCS#11 URIs (RFC 7512).

The hub never sees these private keys: it asks the token to sign. This module
is the boundary with python-pkcs11 (the binding pyHanko's own PKCS#11 support
uses): it parses the URI, opens one logged-in session per token and module,
signs under a lock (a PKCS#11 session runs one operation at a time), and
translates every error of the library into :class:`HsmError`.

A URI names the token and the object, and says where the module and the PIN
are::

    pkcs11:token=hub;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HUB_HSM_PIN

``pin-source`` is ``env:VARIABLE`` or ``file:/path`` (RFC 7512 §2.3 leaves
its form to the application); a literal ``pin-value`` is refused, since URIs
end up in manifests and logs.

ECDSA keys sign with the raw ``CKM_ECDSA`` mechanism over a SHA-256 digest
computed here (SoftHSM2 and several HSMs lack ``CKM_ECDSA_SHA256``), and the
token's ``r || s`` is re-encoded as the DER ``ECDSA-Sig-Value`` the key store
port promises; Ed25519 keys sign with ``CKM_EDDSA``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

import pkcs11
from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    UserNotLoggedIn,
)
from pkcs11.util.ec import encode_named_curve_parameters

from hub.config import secret_from_env
from hub.domain.sealing.errors import HsmError, HsmUnavailable

__all__ = ["HsmKey", "Pkcs11Uri", "generate_key", "open_key"]

_ED25519_OID = "1.3.101.112"

#: Errors after which a fresh session may succeed.
_SESSION_LOST = (
    SessionClosed,
    SessionHandleInvalid,
    UserNotLoggedIn,
    DeviceRemoved,
    DeviceError,
    TokenNotPresent,
)


@dataclass(frozen=True, slots=True)
class Pkcs11Uri:
    """The parts of a PKCS#11 URI the hub uses."""

    token: str
    object: str
    module_path: str
    pin_source: str | None
    text: str

    @classmethod
    def parse(cls, text: str) -> Pkcs11Uri:
        if not text.startswith("pkcs11:"):
            raise HsmError(f"not a PKCS#11 URI (RFC 7512): {text[:40]!r}")
        path, _, query = text[len("pkcs11:") :].partition("?")
        attributes: dict[str, str] = {}
        for part in filter(None, path.split(";")):
            name, sep, value = part.partition("=")
            if not sep:
                raise HsmError(f"the PKCS#11 URI attribute {name!r} has no value")
            attributes[name] = unquote(value)
        options = dict(parse_qsl(query, keep_blank_values=True))
        if "pin-value" in options:
            raise HsmError("give the PIN by pin-source=env:VAR or file:PATH, not pin-value")
        missing = [n for n in ("token", "object") if n not in attributes]
        if "module-path" not in options:
            missing.append("module-path")
        if missing:
            raise HsmError(f"the PKCS#11 URI needs {', '.join(missing)}")
        return cls(
            token=attributes["token"],
            object=attributes["object"],
            module_path=options["module-path"],
            pin_source=options.get("pin-source"),
            text=text,
        )

    def pin(self) -> str | None:
        source = self.pin_source
        if source is None:
            return None
        if source.startswith("env:"):
            return secret_from_env(source[4:])
        if source.startswith("file:"):
            try:
                return Path(source[5:]).read_text("utf-8").strip()
            except OSError as exc:
                raise HsmError(f"cannot read the HSM PIN file: {exc.strerror}") from exc
        raise HsmError("pin-source must be env:VARIABLE or file:PATH")


class _Session:
    """One logged-in session per (module, token), shared by its keys."""

    _open: ClassVar[dict[tuple[str, str], _Session]] = {}
    _guard = threading.Lock()

    def __init__(self, uri: Pkcs11Uri) -> None:
        try:
            library = pkcs11.lib(uri.module_path)
            token = library.get_token(token_label=uri.token)
            self.session = token.open(user_pin=uri.pin(), rw=True)
        except PKCS11Error as exc:
            raise HsmError(f"cannot open the HSM token {uri.token!r}: {_name(exc)}") from exc
        except (OSError, RuntimeError) as exc:
            raise HsmError(f"cannot load the PKCS#11 module {uri.module_path}") from exc
        self.lock = threading.Lock()

    @classmethod
    def forget(cls, uri: Pkcs11Uri, stale: _Session) -> None:
        """Drop a session the token no longer honours, so the next use opens a new one."""
        with cls._guard:
            if cls._open.get((uri.module_path, uri.token)) is stale:
                del cls._open[(uri.module_path, uri.token)]

    @classmethod
    def of(cls, uri: Pkcs11Uri) -> _Session:
        key = (uri.module_path, uri.token)
        with cls._guard:
            found = cls._open.get(key)
            if found is None:
                found = cls._open[key] = cls(uri)
            return found


class HsmKey:
    """A private key in a PKCS#11 token: its public half, and signing by the token."""

    def __init__(self, uri: Pkcs11Uri) -> None:
        self.uri = uri
        self._attach()

    def _attach(self) -> None:
        uri = self.uri
        self._session = _Session.of(uri)
        with self._session.lock:
            try:
                self._private: Any = self._session.session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, label=uri.object
                )
                public = self._session.session.get_key(
                    object_class=ObjectClass.PUBLIC_KEY, label=uri.object
                )
                self._public = _public_key(public)
            except PKCS11Error as exc:
                raise HsmError(
                    f"the HSM token {uri.token!r} has no usable key {uri.object!r}: {_name(exc)}"
                ) from exc

    def public_key(self) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        try:
            raw = self._sign(data)
        except _SESSION_LOST:
            # The token was restarted or the session timed out: log in again
            # once; a second failure is the HSM's, and issuance answers 503.
            _Session.forget(self.uri, self._session)
            try:
                self._attach()
                raw = self._sign(data)
            except (PKCS11Error, HsmError) as exc:
                raise HsmUnavailable(f"the HSM cannot sign with {self.uri.object!r}") from exc
        except PKCS11Error as exc:
            raise HsmUnavailable(f"the HSM refused to sign with {self.uri.object!r}") from exc
        if isinstance(self._public, ed25519.Ed25519PublicKey):
            return raw
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def _sign(self, data: bytes) -> bytes:
        with self._session.lock:
            if isinstance(self._public, ed25519.Ed25519PublicKey):
                return bytes(self._private.sign(data, mechanism=Mechanism.EDDSA))
            digest = hashlib.sha256(data).digest()
            return bytes(self._private.sign(digest, mechanism=Mechanism.ECDSA))


def open_key(uri: str) -> HsmKey:
    """The key a PKCS#11 URI names (what ``keystore.load`` is given as its HSM)."""
    return HsmKey(Pkcs11Uri.parse(uri))


def generate_key(uri: str, algorithm: str) -> HsmKey:
    """Make a key pair in the token under the URI's object label (ES256 or EdDSA).

    Refuses when the label is already taken: a key in an HSM is never replaced.
    """
    parsed = Pkcs11Uri.parse(uri)
    session = _Session.of(parsed)
    with session.lock:
        try:
            taken = list(session.session.get_objects({Attribute.LABEL: parsed.object}))
            if taken:
                raise HsmError(f"the HSM token already holds an object {parsed.object!r}")
            if algorithm == "EdDSA":
                kind, curve = KeyType.EC_EDWARDS, _ED25519_OID
            else:
                kind, curve = KeyType.EC, "secp256r1"
            params = session.session.create_domain_parameters(
                kind, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
            )
            params.generate_keypair(
                store=True,
                label=parsed.object,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        except PKCS11Error as exc:
            raise HsmError(f"the HSM could not generate {parsed.object!r}: {_name(exc)}") from exc
    return HsmKey(parsed)


def _public_key(public: Any) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    point = bytes(core.OctetString.load(bytes(public[Attribute.EC_POINT])).native)
    if public.key_type == KeyType.EC_EDWARDS:
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _name(exc: Exception) -> str:
    return type(exc).__name__
