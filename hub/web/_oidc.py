"""The browser's half of an OpenID Connect sign-in: PKCE, state and nonce.

Between sending a citizen to the identity issuer and their coming back,
the hub must remember three secrets (the ``state`` that ties the answer to
this browser, the ``nonce`` the ID token must carry back, the PKCE code
verifier) and where to return. Nothing is kept on the server: they travel
in a short-lived ``HttpOnly`` cookie that the hub signs with its token key,
exactly as it signs form tokens (with another label, so neither can pass
for the other). The cookie is good for one sign-in, for ten minutes.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Final

from hub.domain.encoding import b64url, unb64url
from hub.web._session import CsrfSigner

__all__ = ["FLOW_SECONDS", "Flow", "open_flow", "pkce_challenge", "seal_flow"]

_FLOW_LABEL: Final = b"oncehub-web-oidc-flow-v1\x00"
#: How long a citizen may take at the identity issuer.
FLOW_SECONDS: Final = 600
_MAX_COOKIE: Final = 2048


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class Flow:
    """One sign-in in progress."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: int

    @classmethod
    def start(cls, next_page: str, now: float | None = None) -> Flow:
        moment = int(time.time() if now is None else now)
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            # 43 to 128 characters of the unreserved set (RFC 7636 4.1).
            verifier=secrets.token_urlsafe(48),
            next=next_page,
            expires=moment + FLOW_SECONDS,
        )

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)


def seal_flow(signer: CsrfSigner, flow: Flow) -> str:
    payload = json.dumps(
        {"s": flow.state, "n": flow.nonce, "v": flow.verifier, "x": flow.next, "e": flow.expires},
        separators=(",", ":"),
    ).encode()
    encoded = b64url(payload)
    return f"{encoded}~{signer.sign(_FLOW_LABEL + payload)}"


def open_flow(signer: CsrfSigner, value: str | None, now: float | None = None) -> Flow | None:
    """The flow a cookie carries; None if absent, forged, malformed or expired."""
    if not value or len(value) > _MAX_COOKIE:
        return None
    encoded, _, signature = value.partition("~")
    try:
        payload = unb64url(encoded)
    except (binascii.Error, ValueError):
        return None
    if not signer.verify(signature, _FLOW_LABEL + payload):
        return None
    try:
        data = json.loads(payload)
        flow = Flow(
            state=str(data["s"]),
            nonce=str(data["n"]),
            verifier=str(data["v"]),
            next=str(data["x"]),
            expires=int(data["e"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if flow.expires < (time.time() if now is None else now):
        return None
    return flow
