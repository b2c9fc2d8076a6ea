"""Who is signed in, and whether a form really came from our own pages.

The session is a cookie holding a token the hub's :class:`TokenService`
issued (a citizen session token or an auditor token), prefixed with the role.
A citizen's session token is minted by the hub once the citizen signed in
(through the identity issuer, or the development picker); it is addressed
to the pages only, so it is not an ID token the API would take.
Nothing is kept on the server, so any hub node can read it, and it ends
when the token expires. The cookie is ``HttpOnly`` (scripts cannot read
it), ``SameSite=Lax`` (other sites' forms do not carry it) and ``Secure``
when the hub is served over HTTPS, where it also takes the ``__Host-``
prefix so that no sibling domain can plant one.

CSRF: every browser gets a random nonce in a second cookie. A form carries
a token that is the hub's *signature*, with the key store's token key, over
the nonce and a digest of the session cookie. Only the hub can make one,
every node can check one with the public key (no shared secret to copy out
of the key store, so the key may live in an HSM), and a token is useless
with another browser's cookies or after signing in or out. The signed
bytes start with a label and contain a NUL byte, so they can never be the
signing input of a JWS that the same key signs.
"""

from __future__ import annotations

import binascii
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hub.auth.models import AuditorPrincipal, CitizenPrincipal
from hub.auth.service import TokenService
from hub.domain.encoding import b64url, unb64url
from hub.domain.sealing.keystore import KeyPurpose, KeyStatus, KeyStore
from hub.errors import HubError

__all__ = [
    "CookieNames",
    "CsrfSigner",
    "Session",
    "new_nonce",
    "read_session",
]

_CSRF_LABEL: Final = b"oncehub-web-csrf-v1\x00"
#: A session cookie longer than this is not ours (tokens are under 2 kB).
_MAX_COOKIE: Final = 4096

Role = Literal["citizen", "auditor"]


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The cookie names; ``__Host-`` ones need HTTPS, so plain HTTP uses bare names."""

    session: str
    csrf: str
    language: str
    secure: bool
    #: The sign-in in progress at the identity issuer (hub/web/_oidc.py).
    flow: str = "hub_signin"

    @classmethod
    def for_url(cls, public_url: str) -> CookieNames:
        secure = public_url.lower().startswith("https://")
        prefix = "__Host-" if secure else ""
        return cls(
            session=f"{prefix}hub_session",
            csrf=f"{prefix}hub_csrf",
            language="hub_lang",
            secure=secure,
            flow=f"{prefix}hub_signin",
        )


@dataclass(frozen=True, slots=True)
class Session:
    """The signed-in person, as their token says."""

    role: Role
    citizen: CitizenPrincipal | None = None
    auditor: AuditorPrincipal | None = None

    @property
    def display_name(self) -> str:
        if self.citizen is not None:
            return self.citizen.name or self.citizen.afm
        return self.auditor.name if self.auditor else ""


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def session_cookie(role: Role, token: str) -> str:
    return f"{role[0]}.{token}"


def read_session(value: str | None, tokens: TokenService) -> Session | None:
    """The session a cookie carries; ``None`` for none, a forged or an expired one."""
    if not value or len(value) > _MAX_COOKIE or value[1:2] != ".":
        return None
    kind, token = value[0], value[2:]
    try:
        if kind == "c":
            return Session("citizen", citizen=tokens.verify_citizen_session(token))
        if kind == "a":
            return Session("auditor", auditor=tokens.verify_auditor_token(token))
    except HubError:
        return None
    return None


class CsrfSigner:
    """Makes and checks the per-browser form tokens with the key store's token key."""

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore

    @staticmethod
    def _message(nonce: str, session: str | None) -> bytes:
        bound = hashlib.sha256((session or "").encode()).digest()
        return _CSRF_LABEL + nonce.encode() + b"\x00" + bound

    def token(self, nonce: str, session: str | None) -> str:
        return self.sign(self._message(nonce, session))

    def check(self, token: str | None, nonce: str | None, session: str | None) -> bool:
        """Whether ``token`` was made by this hub for this nonce and session."""
        if not token or not nonce:
            return False
        return self.verify(token, self._message(nonce, session))

    def sign(self, message: bytes) -> str:
        """``kid.signature`` over ``message``, which must start with its own label."""
        kid = self.keystore.current(KeyPurpose.TOKEN).kid
        signature = self.keystore.sign(kid, message)
        return f"{kid}.{b64url(signature)}"

    def verify(self, token: str, message: bytes) -> bool:
        if len(token) > 512:
            return False
        kid, _, encoded = token.rpartition(".")
        known = {
            r.kid
            for r in self.keystore.records()
            if r.purpose is KeyPurpose.TOKEN and r.status is not KeyStatus.REVOKED
        }
        if kid not in known:
            return False
        try:
            signature = unb64url(encoded)
        except (binascii.Error, ValueError):
            return False
        key = self.keystore.public_key(kid)
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            else:
                key.verify(signature, message)
        except InvalidSignature:
            return False
        return True
