"""The hub as an OpenID Connect relying party of the citizens' identity issuer.

Three things are fetched from the issuer over HTTP, all with ``requests``,
a timeout and a size limit, and every failure leaves as
:class:`hub.errors.IdentityProviderUnavailable` (503) or, when the issuer
refuses what the hub sent, :class:`hub.errors.InvalidToken` (401):

* its discovery document (``/.well-known/openid-configuration``), whose
  ``issuer`` must be exactly the configured one;
* its keys (:class:`JwksKeys`): cached for a while, and fetched again early
  when a token names a key id the cache does not know (the issuer rotated
  its keys), but at most once per short interval, so that tokens with
  forged key ids cannot make the hub hammer the issuer;
* the ID token, by exchanging an authorization code at its token endpoint
  (:class:`OidcClient`, ``client_secret_basic``, with the PKCE verifier).

The ID token itself is checked by the domain
(:meth:`hub.auth.service.TokenService.verify_citizen_token`) with the keys
from here; nothing in this module decides who a citizen is.

Why not PyJWT's ``PyJWKClient``: measured with ``python -m bench.jwks_clients``
(PyJWT 2.15.1), it too refuses to refetch for forged key ids, but once its
cache expires while the issuer is down it raises instead of verifying with the
keys it had, so every citizen token would fail through an issuer outage; it
also reads the JWKS unbounded, over urllib instead of the hub's session. The
code exchange is one POST, which Authlib would not make shorter.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

import jwt
import requests

from hub.errors import IdentityProviderUnavailable, InvalidToken

__all__ = [
    "JwksKeys",
    "OidcClient",
    "OidcDiscovery",
    "ProviderMetadata",
    "fetch_json",
    "parse_jwks",
]

log = logging.getLogger(__name__)

#: A discovery document or a JWKS larger than this is not one.
MAX_DOCUMENT_BYTES: Final = 256 * 1024
DEFAULT_TIMEOUT: Final = 5.0
#: How long fetched keys and metadata are trusted before they are fetched again.
DEFAULT_TTL: Final = 600.0
#: An unknown key id makes the hub fetch the keys again, at most this often.
DEFAULT_MIN_REFRESH: Final = 30.0
#: Keys the issuer could not confirm for this long are no longer used.
MAX_STALE: Final = 24 * 3600.0
_KEY_TYPES: Final = {"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}


def _read_json(response: requests.Response, what: str, max_bytes: int) -> dict[str, Any]:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16384):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise IdentityProviderUnavailable(f"The identity issuer's {what} is too large.")
    try:
        document = json.loads(bytes(body))
    except ValueError as exc:
        raise IdentityProviderUnavailable(f"The identity issuer's {what} is not JSON.") from exc
    if not isinstance(document, dict):
        raise IdentityProviderUnavailable(f"The identity issuer's {what} is not a JSON object.")
    return document


def fetch_json(
    session: requests.Session,
    url: str,
    what: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> dict[str, Any]:
    """GET a JSON document of the issuer, or :class:`IdentityProviderUnavailable`."""
    try:
        with session.get(
            url,
            timeout=timeout,
            stream=True,
            # A redirect could lead anywhere; the configured URL is the document.
            allow_redirects=False,
            headers={"Accept": "application/json"},
        ) as response:
            if response.status_code != 200:
                raise IdentityProviderUnavailable(
                    f"The identity issuer's {what} answered HTTP {response.status_code}."
                )
            return _read_json(response, what, max_bytes)
    except requests.RequestException as exc:
        raise IdentityProviderUnavailable(
            f"The identity issuer's {what} could not be fetched ({exc.__class__.__name__})."
        ) from exc


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the hub uses of an issuer's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any], expected_issuer: str) -> ProviderMetadata:
        # OpenID Connect Discovery 4.3: the issuer must be exactly the one asked.
        if document.get("issuer") != expected_issuer:
            raise IdentityProviderUnavailable(
                "The discovery document names another issuer than HUB_CITIZEN_ISSUER."
            )
        values: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise IdentityProviderUnavailable(f"The discovery document lacks {name}.")
            values[name] = value
        end = document.get("end_session_endpoint")
        return cls(
            issuer=expected_issuer,
            end_session_endpoint=end if isinstance(end, str) and end.startswith("http") else None,
            **values,
        )


class OidcDiscovery:
    """The issuer's metadata, fetched when first needed and cached for ``ttl`` seconds.

    Fetching lazily means a hub starts (and answers everything else) while
    the issuer is down; only citizen sign-in waits for it.
    """

    def __init__(
        self,
        issuer: str,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.session = session or requests.Session()
        self.timeout = timeout
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, ProviderMetadata] | None = None

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self.ttl:
                return self._cached[1]
            try:
                document = fetch_json(
                    self.session, self.url, "discovery document", timeout=self.timeout
                )
                found = ProviderMetadata.from_document(document, self.issuer)
            except IdentityProviderUnavailable:
                if self._cached is not None and now - self._cached[0] < MAX_STALE:
                    log.warning("identity issuer discovery failed; using the cached document")
                    return self._cached[1]
                raise
            self._cached = (now, found)
            return found

    def jwks_uri(self) -> str:
        return self.metadata().jwks_uri


def parse_jwks(document: dict[str, Any], algorithms: tuple[str, ...]) -> dict[str, Any]:
    """kid -> public key for the signing keys of a JWKS usable with ``algorithms``.

    Keys without a kid, for encryption, of another type, or private ones are
    skipped: a JWKS may hold keys the hub has no business using.
    """
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise IdentityProviderUnavailable("The identity issuer's JWKS has no keys list.")
    types = {_KEY_TYPES[a] for a in algorithms if a in _KEY_TYPES}
    found: dict[str, Any] = {}
    for jwk in keys:
        if not isinstance(jwk, dict):
            continue
        kid, kty = jwk.get("kid"), jwk.get("kty")
        if not isinstance(kid, str) or not kid or kty not in types:
            continue
        if jwk.get("use", "sig") != "sig" or "d" in jwk:
            continue
        alg = jwk.get("alg")
        if alg is not None and alg not in algorithms:
            continue
        try:
            found[kid] = jwt.PyJWK(jwk, algorithm=alg if isinstance(alg, str) else None).key
        except jwt.PyJWTError:
            log.warning("identity issuer JWKS: skipped a key that does not parse")
    return found


class JwksKeys:
    """The issuer's public keys by kid: a :data:`hub.auth.service.CitizenKeys`.

    * Keys are fetched when first needed and again after ``ttl`` seconds.
    * A kid the cache does not know makes it fetch again (the issuer may have
      rotated), unless it fetched less than ``min_refresh`` seconds ago: then
      the kid is simply unknown (401). Forged kids cannot cause a fetch storm.
    * If a fetch fails, keys fetched earlier are used for up to a day; with
      none, the answer is :class:`IdentityProviderUnavailable` (503).
    """

    def __init__(
        self,
        url: str | Callable[[], str],
        *,
        algorithms: tuple[str, ...] = ("ES256", "RS256", "EdDSA"),
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        ttl: float = DEFAULT_TTL,
        min_refresh: float = DEFAULT_MIN_REFRESH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self.algorithms = algorithms
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        #: How many times the keys were fetched (tests and metrics read it).
        self.fetches = 0

    def __call__(self, kid: str) -> Any | None:
        with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < self.ttl
            if (not fresh or kid not in self._keys) and self._may_fetch(now):
                self._refresh(now)
            if self._fetched_at is None:
                raise IdentityProviderUnavailable("The identity issuer's keys are not known yet.")
            return self._keys.get(kid)

    def _may_fetch(self, now: float) -> bool:
        # Whatever the reason (expiry, an unknown kid, a failure before), at
        # most one fetch per min_refresh seconds.
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            url = self._url if isinstance(self._url, str) else self._url()
            document = fetch_json(
                self.session, url, "JWKS", timeout=self.timeout, max_bytes=self.max_bytes
            )
            keys = parse_jwks(document, self.algorithms)
        except IdentityProviderUnavailable:
            usable = self._fetched_at is not None and now - self._fetched_at < MAX_STALE
            if usable:
                log.warning("identity issuer JWKS fetch failed; using the keys fetched before")
                return
            self._keys, self._fetched_at = {}, None
            raise
        self._keys, self._fetched_at = keys, now


def _form_encode(value: str) -> str:
    # RFC 6749 2.3.1: the client id and secret are form-encoded before Basic.
    return quote(value, safe="")


class OidcClient:
    """The authorization code flow with PKCE, as the hub's web sign-in needs it."""

    def __init__(
        self,
        discovery: OidcDiscovery,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: str = "openid",
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.discovery = discovery
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self.session = session or requests.Session()
        self.timeout = timeout

    @property
    def issuer(self) -> str:
        return self.discovery.issuer

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser to sign in (S256 PKCE, ``state`` and ``nonce``)."""
        endpoint = self.discovery.metadata().authorization_endpoint
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange_code(self, code: str, code_verifier: str) -> str:
        """The ID token for an authorization code (``client_secret_basic``)."""
        endpoint = self.discovery.metadata().token_endpoint
        auth = (_form_encode(self.client_id), _form_encode(self._client_secret))
        try:
            with self.session.post(
                endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=auth,
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
                headers={"Accept": "application/json"},
            ) as response:
                status = response.status_code
                if 400 <= status < 500:
                    # invalid_grant and friends: a used, expired or foreign code.
                    raise InvalidToken("The identity issuer refused the sign-in code.")
                if status != 200:
                    raise IdentityProviderUnavailable(
                        f"The identity issuer's token endpoint answered HTTP {status}."
                    )
                answer = _read_json(response, "token response", MAX_DOCUMENT_BYTES)
        except requests.RequestException as exc:
            raise IdentityProviderUnavailable(
                f"The identity issuer's token endpoint failed ({exc.__class__.__name__})."
            ) from exc
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise InvalidToken("The identity issuer sent no ID token.")
        return id_token

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to end the issuer's own session; None if it advertises none or is down."""
        try:
            endpoint = self.discovery.metadata().end_session_endpoint
        except IdentityProviderUnavailable:
            return None
        if endpoint is None:
            return None
        query = urlencode(
            {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
