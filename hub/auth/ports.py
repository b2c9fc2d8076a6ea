"""What authentication needs from the outside: a replay cache, the hub's keys, the citizens' issuer.

:class:`ReplayCache` is implemented by ``hub/persistence/replay.py``,
:class:`TokenKeys` by :class:`~hub.auth.token_keys.KeyStoreTokenKeys` over the
key store, :class:`CitizenSignIn` by the OIDC client in ``adapters/oidc.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["CitizenSignIn", "ReplayCache", "TokenKeys"]


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers single-use token ids (``jti``) until they expire anyway."""

    def remember(self, issuer: str, jti: str, expires_at: dt.datetime) -> bool:
        """Record the id; False if it was already seen (a replay)."""
        ...


@runtime_checkable
class TokenKeys(Protocol):
    """The hub's token-signing key: it signs; its public keys verify."""

    def sign_jwt(self, claims: Mapping[str, Any], *, typ: str) -> str:
        """A compact ES256 JWS over the claims with the current key (``kid`` set)."""
        ...

    def verification_key(self, kid: str) -> Any | None:
        """The public key with that kid, current or retired, or None."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK Set, for clients that check tokens themselves."""
        ...


@runtime_checkable
class CitizenSignIn(Protocol):
    """The citizens' identity issuer, as the web sign-in (authorization code flow) needs it.

    Each method raises only :class:`hub.errors.IdentityProviderUnavailable`
    (the issuer cannot be reached) or :class:`hub.errors.InvalidToken` (it
    refused what the hub sent, for example a used code).
    """

    @property
    def issuer(self) -> str:
        """The issuer's identifier (``iss``), the origin its pages are served from."""
        ...

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser to sign in (PKCE with S256)."""
        ...

    def exchange_code(self, code: str, code_verifier: str) -> str:
        """The ID token the issuer gives for an authorization code."""
        ...

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to end the issuer's own session, if it has such an endpoint."""
        ...
