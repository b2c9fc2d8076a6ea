"""Who is calling: agencies, citizens and auditors, each proven by a token.

Agency authentication: OAuth 2.0 client credentials with private_key_jwt.

An agency proves who it is with a client assertion (RFC 7523) signed by its
own key: ``iss`` = ``sub`` = its id, ``aud`` = the hub's token endpoint, an
``exp`` at most an hour ahead and a single-use ``jti``. The hub answers with a short-lived
access token signed by its own key and scoped to the agency's purposes. Only
asymmetric algorithms are accepted, so neither ``none`` nor an HMAC keyed
with a public key can pass.

Citizens prove who they are with an OpenID Connect ID token from the trusted
identity issuer (:meth:`TokenService.verify_citizen_token`): by default the
hub's own development issuer, in production an external one whose keys come
from its JWKS. The web pages do not keep that ID token: after checking it
once at sign-in they hold a *session token* the hub mints for its own pages
(:meth:`TokenService.issue_citizen_session`), addressed to another audience,
so that an ID token is never a session cookie and a session cookie is never
a bearer token for the API.

An agency sends the same access token with every request for its lifetime,
so :meth:`TokenService.verify_access_token` remembers the principal of each
token it verified (:class:`_PrincipalCache`, keyed by the token's SHA-256)
until the token expires: a repeat costs a hash and a lookup instead of an
ES256 verification and a JWT parse. What can change while a token lives is
still checked on every request: its expiry, and that the key which signed it
is still one the hub accepts (a revoked key is refused at once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from hub.auth.models import AgencyPrincipal, AuditorPrincipal, CitizenPrincipal, IssuedToken
from hub.auth.ports import ReplayCache, TokenKeys
from hub.errors import Forbidden, InvalidClient, InvalidScope, InvalidToken

__all__ = [
    "ACCESS_AUDIENCE",
    "ASSERTION_ALGORITHMS",
    "AUDIT_AUDIENCE",
    "CITIZEN_AUDIENCE",
    "MAX_ASSERTION_LIFETIME",
    "WEB_SESSION_AUDIENCE",
    "AgencyKeys",
    "CitizenKeys",
    "TokenService",
]

ASSERTION_ALGORITHMS = ("ES256", "EdDSA")
ACCESS_AUDIENCE = "oncehub-api"
AUDIT_AUDIENCE = "oncehub-audit"
CITIZEN_AUDIENCE = "oncehub-citizen"
#: The audience of the session tokens the hub mints for its own web pages.
WEB_SESSION_AUDIENCE = "oncehub-web"
#: How long a web session lasts, whatever the lifetime of the ID token was.
WEB_SESSION_SECONDS = 3600
MAX_TOKEN_BYTES = 8192
#: The longest a client assertion may live, from iat to exp. An hour, because
#: standard clients (Authlib's ``PrivateKeyJWT`` among them) sign assertions
#: valid that long by default; the replay cache keeps each jti for as long.
MAX_ASSERTION_LIFETIME = 3600
LEEWAY = 30
#: Seconds an access token is still accepted after its ``exp`` (clock skew).
ACCESS_LEEWAY = 5
#: Verified access tokens remembered at most (a few hundred bytes each).
PRINCIPAL_CACHE_SIZE = 4096

#: Looks up an agency's public keys: kid -> key (an empty mapping if unknown).
AgencyKeys = Callable[[str], Mapping[str, Any]]
#: Looks up the identity issuer's public key by kid (None if unknown). It may
#: raise :class:`hub.errors.IdentityProviderUnavailable` when it cannot tell.
CitizenKeys = Callable[[str], Any | None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: AgencyPrincipal
    kid: str
    #: The very key object that verified the signature.
    key: Any
    #: The token's ``exp`` claim (seconds since the epoch).
    expires: float


class _PrincipalCache:
    """Access tokens already verified, by SHA-256 digest, until each one expires.

    Bounded: the least recently used entry goes first. Only tokens that passed
    the full verification enter it; a refused token is verified (and refused)
    again on every request.
    """

    def __init__(self, size: int = PRINCIPAL_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> _Verified | None:
        with self._lock:
            found = self._entries.get(digest)
            if found is not None:
                self._entries.move_to_end(digest)
            return found

    def put(self, digest: bytes, verified: _Verified) -> None:
        with self._lock:
            self._entries[digest] = verified
            self._entries.move_to_end(digest)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def __len__(self) -> int:
        return len(self._entries)


def _header(token: str, refusal: type[InvalidToken] = InvalidToken) -> dict[str, Any]:
    if len(token) > MAX_TOKEN_BYTES:
        raise refusal("The token is too large.")
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise refusal("The token is not a well-formed JWS.") from exc
    return header


class TokenService:
    """Exchanges client assertions for access tokens, and checks the latter."""

    def __init__(
        self,
        *,
        issuer: str,
        token_endpoint: str,
        agency_keys: AgencyKeys,
        agency_purposes: Callable[[str], tuple[str, ...]],
        keys: TokenKeys,
        replay: ReplayCache,
        ttl: int = 300,
        citizen_issuer: str | None = None,
        citizen_keys: CitizenKeys | None = None,
        citizen_audience: str = CITIZEN_AUDIENCE,
        citizen_algorithms: tuple[str, ...] = ASSERTION_ALGORITHMS,
        afm_claim: str = "afm",
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.issuer = issuer
        self.token_endpoint = token_endpoint
        self._agency_keys = agency_keys
        self._agency_purposes = agency_purposes
        self._keys = keys
        self._replay = replay
        self.ttl = ttl
        self._clock = clock
        #: The identity issuer whose ID tokens sign citizens in; by default the
        #: hub's own development issuer, which signs with the token key.
        self.citizen_issuer = citizen_issuer or issuer + "/dev-idp"
        #: Whether the identity issuer is another party (then the hub never
        #: signs ID tokens in its name, even outside production).
        self.external_citizen_issuer = citizen_issuer is not None
        self._citizen_keys = citizen_keys or keys.verification_key
        self.citizen_audience = citizen_audience
        self.citizen_algorithms = citizen_algorithms
        self.afm_claim = afm_claim
        self._principals = _PrincipalCache()

    def exchange(
        self, assertion: str, *, scope: str | None = None, client_id: str | None = None
    ) -> IssuedToken:
        """Verify a client assertion and issue an access token for its agency.

        ``scope``, when the client asks for one, narrows the token to those of
        the agency's purposes; ``client_id``, when sent, must name the agency.
        Every refusal of the assertion is :class:`InvalidClient` (RFC 7523
        §3.2); a scope the agency does not hold is :class:`InvalidScope`.
        """
        header = _header(assertion, InvalidClient)
        if header.get("alg") not in ASSERTION_ALGORITHMS:
            raise InvalidClient("Client assertions must be signed with ES256 or EdDSA.")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidClient("The client assertion is not a well-formed JWT.") from exc
        agency_id = unverified.get("iss")
        if not isinstance(agency_id, str) or unverified.get("sub") != agency_id:
            raise InvalidClient("The client assertion's iss and sub must both name the agency.")
        if client_id is not None and client_id != agency_id:
            raise InvalidClient("client_id and the client assertion name different agencies.")
        keys = self._agency_keys(agency_id)
        if not keys:
            raise InvalidClient("The client assertion names an unknown agency.")
        kid = header.get("kid")
        candidates = [keys[kid]] if isinstance(kid, str) and kid in keys else list(keys.values())
        if isinstance(kid, str) and kid not in keys:
            raise InvalidClient("The client assertion's key id is not registered for the agency.")
        claims = self._verify_assertion(assertion, candidates)
        now = self._clock()
        exp = int(claims["exp"])
        iat = int(claims.get("iat", claims.get("nbf", exp - MAX_ASSERTION_LIFETIME)))
        if exp - iat > MAX_ASSERTION_LIFETIME or exp > now.timestamp() + MAX_ASSERTION_LIFETIME:
            raise InvalidClient(
                f"Client assertions may live at most {MAX_ASSERTION_LIFETIME} seconds."
            )
        jti = claims["jti"]
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            raise InvalidClient("The client assertion's jti must be a unique string.")
        purposes = self._granted(agency_id, scope)
        # The jti is remembered until the assertion could no longer pass the
        # expiry check (exp plus the clock leeway), however long it lived: a
        # copy replayed at any moment of its life finds it here.
        expires_at = dt.datetime.fromtimestamp(exp + LEEWAY, dt.UTC)
        if not self._replay.remember(agency_id, jti, expires_at):
            raise InvalidClient("This client assertion was already used.")
        return self._issue(agency_id, purposes, now)

    def _granted(self, agency_id: str, scope: str | None) -> tuple[str, ...]:
        """The purposes the token carries: the agency's, or the subset it asked for."""
        purposes = self._agency_purposes(agency_id)
        if scope is None or not scope.strip():
            return purposes
        asked = tuple(dict.fromkeys(scope.split()))
        unknown = [p for p in asked if p not in purposes]
        if unknown:
            raise InvalidScope(
                f"The agency holds no purpose named {', '.join(unknown)}; "
                f"it may ask for {', '.join(purposes) or 'none'}."
            )
        return asked

    def _verify_assertion(self, assertion: str, candidates: list[Any]) -> dict[str, Any]:
        error: jwt.PyJWTError | None = None
        for key in candidates:
            try:
                claims: dict[str, Any] = jwt.decode(
                    assertion,
                    key=key,
                    algorithms=list(ASSERTION_ALGORITHMS),
                    audience=self.token_endpoint,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                )
            except jwt.InvalidSignatureError as exc:
                error = exc
                continue
            except jwt.ExpiredSignatureError as exc:
                raise InvalidClient("The client assertion has expired.") from exc
            except jwt.ImmatureSignatureError as exc:
                raise InvalidClient("The client assertion is not valid yet.") from exc
            except jwt.InvalidAudienceError as exc:
                raise InvalidClient(
                    "The client assertion must be addressed to the token endpoint "
                    f"({self.token_endpoint})."
                ) from exc
            except jwt.MissingRequiredClaimError as exc:
                raise InvalidClient(f"The client assertion lacks the {exc.claim} claim.") from exc
            except jwt.PyJWTError as exc:
                raise InvalidClient("The client assertion is not valid.") from exc
            return claims
        raise InvalidClient("The client assertion's signature does not verify.") from error

    def _issue(self, agency_id: str, purposes: tuple[str, ...], now: dt.datetime) -> IssuedToken:
        iat = int(now.timestamp())
        scope = " ".join(purposes)
        claims = {
            "iss": self.issuer,
            "sub": agency_id,
            "aud": ACCESS_AUDIENCE,
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.ttl,
            "jti": uuid.uuid4().hex,
            "scope": scope,
            "token_use": "agency",
        }
        token = self._keys.sign_jwt(claims, typ="at+jwt")
        return IssuedToken(access_token=token, expires_in=self.ttl, scope=scope)

    def jwks(self) -> dict[str, Any]:
        """The public keys of the tokens this hub signs (not its seal keys)."""
        return self._keys.jwks()

    def verify_access_token(self, token: str) -> AgencyPrincipal:
        """The agency an access token was issued to, or :class:`InvalidToken`.

        A token verified before is answered from the cache while it has not
        expired and the key that signed it is still accepted; otherwise it is
        verified in full, exactly as the first time.
        """
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("The token is too large.")
        digest = hashlib.sha256(token.encode()).digest()
        known = self._principals.get(digest)
        if known is not None:
            # The same clock PyJWT reads, with the same leeway, so a cached
            # token expires at the very moment a fresh verification would
            # refuse it.
            if time.time() < known.expires + ACCESS_LEEWAY and (
                self._keys.verification_key(known.kid) is known.key
            ):
                return known.principal
            self._principals.drop(digest)
        principal, kid, key, expires = self._verify_access_token(token)
        self._principals.put(digest, _Verified(principal, kid, key, expires))
        return principal

    def _verify_access_token(self, token: str) -> tuple[AgencyPrincipal, str, Any, float]:
        header = _header(token)
        if header.get("alg") != "ES256":
            raise InvalidToken("Access tokens are ES256 tokens issued by the hub.")
        kid = header.get("kid")
        key = self._keys.verification_key(kid) if isinstance(kid, str) else None
        if key is None or not isinstance(kid, str):
            raise InvalidToken("The access token was not issued by this hub.")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["ES256"],
                audience=ACCESS_AUDIENCE,
                issuer=self.issuer,
                leeway=ACCESS_LEEWAY,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is not valid.") from exc
        if claims.get("token_use") != "agency":
            raise InvalidToken("This is not an agency access token.")
        scope = claims.get("scope", "")
        purposes = tuple(scope.split()) if isinstance(scope, str) else ()
        principal = AgencyPrincipal(
            agency_id=claims["sub"], purposes=purposes, token_id=claims["jti"]
        )
        return principal, kid, key, float(claims["exp"])

    # -- citizens and auditors ---------------------------------------------------

    def _signed(self, claims: dict[str, Any], typ: str) -> IssuedToken:
        token = self._keys.sign_jwt(claims, typ=typ)
        return IssuedToken(access_token=token, expires_in=self.ttl, scope=str(claims["aud"]))

    def issue_citizen(self, afm: str, amka: str | None, name: str | None) -> IssuedToken:
        """An ID token from the development issuer (the CLI refuses in production)."""
        if self.external_citizen_issuer:
            raise Forbidden("Citizen ID tokens come from the configured identity issuer.")
        claims = self._citizen_claims(
            CitizenPrincipal(afm=afm, amka=amka, name=name),
            issuer=self.citizen_issuer,
            audience=CITIZEN_AUDIENCE,
            lifetime=max(self.ttl, 3600),
        )
        return self._signed(claims, "JWT")

    def _citizen_claims(
        self, citizen: CitizenPrincipal, *, issuer: str, audience: str, lifetime: int
    ) -> dict[str, Any]:
        iat = int(self._clock().timestamp())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": f"afm:{citizen.afm}",
            "aud": audience,
            "iat": iat,
            "exp": iat + lifetime,
            "jti": uuid.uuid4().hex,
            "afm": citizen.afm,
        }
        if citizen.amka:
            claims["amka"] = citizen.amka
        if citizen.name:
            claims["name"] = citizen.name
        return claims

    def verify_citizen_token(self, token: str, *, nonce: str | None = None) -> CitizenPrincipal:
        """The citizen an ID token of the trusted identity issuer names.

        ``nonce``, at the end of a web sign-in, is the value the hub sent with
        the authorization request; the ID token must carry it back.
        """
        header = _header(token)
        alg = header.get("alg")
        if alg not in self.citizen_algorithms:
            raise InvalidToken(
                f"Citizen tokens are signed with {', '.join(self.citizen_algorithms)}."
            )
        kid = header.get("kid")
        key = self._citizen_keys(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise InvalidToken("The citizen token is not from the trusted identity issuer.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                # Only the header's own algorithm, already checked against the list.
                algorithms=[str(alg)],
                audience=self.citizen_audience,
                issuer=self.citizen_issuer,
                leeway=LEEWAY if self.external_citizen_issuer else 5,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The citizen token has expired.") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("The citizen token is from another issuer.") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("The citizen token is addressed to someone else.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The citizen token is not valid here.") from exc
        except (TypeError, ValueError) as exc:
            # PyJWT raises these when the kid names a key of another type than
            # the header's algorithm (an RSA key for ES256): a forgery, not a fault.
            raise InvalidToken("The citizen token's key does not fit its algorithm.") from exc
        audiences = claims["aud"]
        # OpenID Connect Core 3.1.3.7: several audiences need azp = our client.
        several = isinstance(audiences, list) and len(audiences) > 1
        if several and claims.get("azp") != self.citizen_audience:
            raise InvalidToken("The citizen token is addressed to someone else.")
        if nonce is not None:
            sent = claims.get("nonce")
            if not isinstance(sent, str) or not secrets.compare_digest(sent, nonce):
                raise InvalidToken("The ID token does not answer this sign-in.")
        return self._citizen_from(claims, self.afm_claim)

    @staticmethod
    def _citizen_from(claims: Mapping[str, Any], afm_claim: str) -> CitizenPrincipal:
        afm = claims.get(afm_claim)
        if not isinstance(afm, str) or len(afm) != 9 or not afm.isdigit():
            raise InvalidToken("The citizen token does not carry the citizen's AFM.")
        amka, name = claims.get("amka"), claims.get("name")
        return CitizenPrincipal(
            afm=afm,
            amka=amka if isinstance(amka, str) else None,
            name=name if isinstance(name, str) else None,
        )

    def issue_citizen_session(self, citizen: CitizenPrincipal) -> IssuedToken:
        """A session token for the hub's own pages, after the citizen signed in."""
        claims = {
            **self._citizen_claims(
                citizen,
                issuer=self.issuer,
                audience=WEB_SESSION_AUDIENCE,
                lifetime=WEB_SESSION_SECONDS,
            ),
            "token_use": "citizen-session",
        }
        token = self._keys.sign_jwt(claims, typ="JWT")
        return IssuedToken(
            access_token=token, expires_in=WEB_SESSION_SECONDS, scope=WEB_SESSION_AUDIENCE
        )

    def verify_citizen_session(self, token: str) -> CitizenPrincipal:
        """The citizen a session token of this hub's pages names."""
        claims = self._own_token(
            token, WEB_SESSION_AUDIENCE, "citizen-session", "Session", "a citizen session"
        )
        return self._citizen_from(claims, "afm")

    def issue_auditor(self, name: str) -> IssuedToken:
        iat = int(self._clock().timestamp())
        claims = {
            "iss": self.issuer,
            "sub": name,
            "aud": AUDIT_AUDIENCE,
            "iat": iat,
            "exp": iat + max(self.ttl, 3600),
            "jti": uuid.uuid4().hex,
            "token_use": "auditor",
        }
        return self._signed(claims, "at+jwt")

    def verify_auditor_token(self, token: str) -> AuditorPrincipal:
        claims = self._own_token(token, AUDIT_AUDIENCE, "auditor", "Auditor", "an auditor")
        return AuditorPrincipal(name=str(claims["sub"]))

    def _own_token(
        self, token: str, audience: str, token_use: str, kind: str, what: str
    ) -> dict[str, Any]:
        """The claims of an ES256 token this hub issued for ``audience`` and ``token_use``.

        ``kind`` and ``what`` name the token in the refusals ("Auditor tokens
        are…", "This is not an auditor token.").
        """
        header = _header(token)
        if header.get("alg") != "ES256":
            raise InvalidToken(f"{kind} tokens are ES256 tokens issued by the hub.")
        kid = header.get("kid")
        key = self._keys.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken(f"The {kind.lower()} token was not issued by this hub.")
        claims = self._decode(token, key, audience, self.issuer)
        if claims.get("token_use") != token_use:
            raise InvalidToken(f"This is not {what} token.")
        return claims

    @staticmethod
    def _decode(token: str, key: Any, audience: str, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["ES256", "EdDSA"],
                audience=audience,
                issuer=issuer,
                leeway=5,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is not valid here.") from exc
        return claims
