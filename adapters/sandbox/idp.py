"""A small but real OpenID Connect provider for the sandbox citizens.

The hub's production sign-in talks to an external identity issuer (for
example a TaxisNet-style provider). To test that path for real over HTTP,
this provider does what such an issuer does, and checks what it checks:

* ``GET /.well-known/openid-configuration``: the discovery document;
* ``GET /jwks``: its public keys (ES256, rotatable with :meth:`rotate`);
* ``GET /authorize``: a form to pick a sandbox citizen (no password: this
  is a sandbox), after checking the client, the exact ``redirect_uri``, the
  response type and an S256 PKCE challenge;
* ``POST /authorize``: sends the browser back with a one-time code and the
  ``state``;
* ``POST /token``: ``client_secret_basic`` client authentication, the code
  (single use, one minute, bound to the client and the ``redirect_uri``) and
  the PKCE verifier; answers an ES256-signed ID token with ``nonce`` and the
  AFM under the configured claim name;
* ``GET /logout``: the end-session endpoint, back to a registered page.

It rides on the registries' plain-ASGI plumbing (``_asgi.SandboxApp``), so
faults can be injected on its token endpoint like on a registry operation.
``start_idp`` runs it on loopback in a background thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.sandbox._asgi import Request, Response, SandboxApp
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.population import Population
from adapters.sandbox.runner import _answers, _bind, _url, serve_in_thread
from hub.domain.encoding import b64url
from hub.errors import ConfigError

__all__ = ["IdpClient", "IdpHandle", "SandboxIdentityProvider", "start_idp"]

CODE_SECONDS: Final = 60
ID_TOKEN_SECONDS: Final = 300
_START_TIMEOUT: Final = 10.0
_JSON: Final = "application/json"
_HTML: Final = "text/html; charset=utf-8"


@dataclass(slots=True)
class IdpClient:
    """A relying party registered at the provider."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    afm: str
    expires: float


@dataclass(slots=True)
class _Key:
    kid: str
    private: ec.EllipticCurvePrivateKey

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(
            jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key())
        )
        public.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return public


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return b64url(digest)


def _json(status: int, body: Any, *headers: tuple[bytes, bytes]) -> Response:
    data = json.dumps(body).encode()
    extra = [(b"cache-control", b"no-store"), *headers]
    return Response(status, _JSON, data, extra)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _page(status: int, title: str, body: str) -> Response:
    text = (
        '<!doctype html><html lang="el"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(status, _HTML, text.encode(), [(b"cache-control", b"no-store")])


def _redirect(location: str) -> Response:
    return Response(302, "text/plain", b"", [(b"location", location.encode("latin-1"))])


def _with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


class SandboxIdentityProvider(SandboxApp):
    """The provider: its keys, its clients, its codes in memory."""

    registry_id = "idp"

    def __init__(
        self,
        population: Population,
        issuer: str,
        *,
        clients: list[IdpClient] | None = None,
        afm_claim: str = "afm",
        faults: Faults | None = None,
        sample: int = 20,
    ) -> None:
        super().__init__(population, faults)
        self.issuer = issuer.rstrip("/")
        self.afm_claim = afm_claim
        self.clients: dict[str, IdpClient] = {c.client_id: c for c in clients or []}
        self.sample = sample
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._keys: list[_Key] = []
        #: Claims merged into every ID token: tests use it to play a faulty issuer.
        self.tamper: dict[str, Any] = {}
        #: Makes the ID token from its claims instead of :meth:`sign` (a forger).
        self.forge: Callable[[dict[str, Any]], str] | None = None
        #: How many times the JWKS was fetched (tests check the hub's cache).
        self.jwks_fetches = 0
        self.rotate()

    # -- what tests and operators may do -------------------------------------------

    def register(self, client: IdpClient) -> None:
        self.clients[client.client_id] = client

    def rotate(self, *, keep_old: bool = True) -> str:
        """A new current signing key; the old ones stay published unless told not to."""
        key = _Key(f"idp-{uuid.uuid4().hex[:12]}", ec.generate_private_key(ec.SECP256R1()))
        with self._lock:
            self._keys = [*self._keys, key] if keep_old else [key]
        return key.kid

    @property
    def current_kid(self) -> str:
        return self._keys[-1].kid

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """An ES256 JWS over ``claims`` with one of the provider's keys."""
        key = next((k for k in self._keys if k.kid == kid), self._keys[-1])
        return jwt.encode(claims, key.private, algorithm="ES256", headers={"kid": key.kid})

    def id_token_claims(self, client_id: str, afm: str, nonce: str | None) -> dict[str, Any]:
        person = self.population.by_afm(afm)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            # A pairwise subject, as real providers give, not the AFM itself.
            "sub": hashlib.sha256(f"{client_id}:{afm}".encode()).hexdigest()[:32],
            "aud": client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + ID_TOKEN_SECONDS,
            self.afm_claim: afm,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if person is not None:
            claims["name"] = person.full_name
            claims["amka"] = person.amka
        claims.update(self.tamper)
        return claims

    # -- SandboxApp ---------------------------------------------------------------------

    def is_operation(self, request: Request) -> bool:
        return request.path == "/token"

    def server_error(self) -> Response:
        return _oauth_error(500, "server_error", "The sandbox provider failed (injected).")

    def too_large(self) -> Response:
        return _oauth_error(413, "invalid_request", "The request is too large.")

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        return normal

    def handle(self, request: Request) -> Response:
        routes: dict[tuple[str, str], Callable[[], Response]] = {
            ("GET", "/health"): lambda: Response(200, "text/plain", b"ok"),
            ("GET", "/.well-known/openid-configuration"): lambda: _json(200, self.discovery()),
            ("GET", "/jwks"): self._jwks,
            ("GET", "/authorize"): lambda: self._authorize(_query(request.query), show_form=True),
            ("POST", "/authorize"): lambda: self._authorize(
                _query(request.body.decode("utf-8", "replace")), show_form=False
            ),
            ("POST", "/token"): lambda: self._token(request),
            ("GET", "/logout"): lambda: self._logout(_query(request.query)),
        }
        answer = routes.get((request.method, request.path))
        return answer() if answer is not None else _json(404, {"error": "not_found"})

    def _jwks(self) -> Response:
        self.jwks_fetches += 1
        return _json(200, {"keys": [k.jwk() for k in self._keys]})

    def discovery(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid"],
            "claims_supported": ["sub", "name", "amka", self.afm_claim],
        }

    # -- the authorization endpoint ---------------------------------------------------

    def _authorize(  # noqa: PLR0911  # one answer per check, in the RFC's order, reads best
        self, params: dict[str, str], *, show_form: bool
    ) -> Response:
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        # An unknown client or redirect URI gets a page, never a redirect (RFC 6749 4.1.2.1).
        if client is None:
            return _page(400, "Άγνωστη εφαρμογή", "<p>The client is not registered.</p>")
        if redirect_uri not in client.redirect_uris:
            return _page(
                400, "Μη καταχωρισμένη διεύθυνση", "<p>The redirect_uri is not registered.</p>"
            )
        state = params.get("state")

        def refuse(error: str, description: str) -> Response:
            answer = {"error": error, "error_description": description}
            if state is not None:
                answer["state"] = state
            return _redirect(_with_query(redirect_uri, answer))

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "Only the code flow is supported.")
        if "openid" not in params.get("scope", "").split():
            return refuse("invalid_scope", "The openid scope is required.")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return refuse("invalid_request", "PKCE with S256 is required.")
        if show_form:
            return self._form(params)
        if params.get("decision") == "deny":
            return refuse("access_denied", "The citizen did not sign in.")
        afm = params.get("afm", "")
        if self.population.by_afm(afm) is None:
            return self._form(params, error="Επιλέξτε έναν πολίτη.")
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._codes = {k: v for k, v in self._codes.items() if v.expires > now}
            self._codes[code] = _Code(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                challenge=challenge,
                nonce=params.get("nonce"),
                afm=afm,
                expires=now + CODE_SECONDS,
            )
        answer = {"code": code}
        if state is not None:
            answer["state"] = state
        return _redirect(_with_query(redirect_uri, answer))

    def _form(self, params: dict[str, str], error: str | None = None) -> Response:
        carried = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("afm", "decision")
        )
        choices = "".join(
            f'<div><input type="radio" name="afm" id="afm-{c.afm}" value="{c.afm}"'
            f"{' checked' if i == 0 else ''}>"
            f'<label for="afm-{c.afm}">{html.escape(c.full_name)} (ΑΦΜ {c.afm})</label></div>'
            for i, c in enumerate(self.population.sample(self.sample))
        )
        alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        body = (
            f"{alert}<p>Sandbox identity provider: pick a citizen.</p>"
            f'<form method="post" action="/authorize">{carried}'
            f"<fieldset><legend>Πολίτης</legend>{choices}</fieldset>"
            '<button type="submit" name="decision" value="allow">Σύνδεση</button> '
            '<button type="submit" name="decision" value="deny">Ακύρωση</button>'
            "</form>"
        )
        return _page(200 if error is None else 422, "Σύνδεση πολίτη", body)

    # -- the token endpoint -----------------------------------------------------------

    def _client(self, request: Request) -> IdpClient | None:
        header = request.headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        client = self.clients.get(unquote(user)) if sep else None
        if client is None:
            return None
        if not secrets.compare_digest(unquote(password).encode(), client.secret.encode()):
            return None
        return client

    def _token(self, request: Request) -> Response:  # noqa: PLR0911  # one error per check
        client = self._client(request)
        if client is None:
            return _json(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed."},
                (b"www-authenticate", b'Basic realm="sandbox-idp"'),
            )
        params = _query(request.body.decode("utf-8", "replace"))
        if params.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "Only authorization_code.")
        with self._lock:
            # Popped at once: a code is good for one exchange, even a failed one.
            found = self._codes.pop(params.get("code", ""), None)
        if found is None or found.expires < time.monotonic():
            return _oauth_error(400, "invalid_grant", "The code is unknown, used or expired.")
        if found.client_id != client.client_id:
            return _oauth_error(400, "invalid_grant", "The code was issued to another client.")
        if params.get("redirect_uri") != found.redirect_uri:
            return _oauth_error(400, "invalid_grant", "The redirect_uri does not match.")
        verifier = params.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(
            _s256(verifier), found.challenge
        ):
            return _oauth_error(400, "invalid_grant", "The PKCE verifier does not match.")
        claims = self.id_token_claims(client.client_id, found.afm, found.nonce)
        id_token = self.forge(claims) if self.forge is not None else self.sign(claims)
        return _json(
            200,
            {
                "access_token": secrets.token_urlsafe(32),
                "token_type": "Bearer",
                "expires_in": ID_TOKEN_SECONDS,
                "id_token": id_token,
            },
        )

    def _logout(self, params: dict[str, str]) -> Response:
        client = self.clients.get(params.get("client_id", ""))
        back = params.get("post_logout_redirect_uri", "")
        if client is not None and back in client.post_logout_redirect_uris:
            return _redirect(back)
        return _page(200, "Αποσυνδεθήκατε", "<p>You are signed out.</p>")


def _query(text: str) -> dict[str, str]:
    """The first value of each parameter of a query string or urlencoded form."""
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


@dataclass(slots=True)
class IdpHandle:
    """The running provider: its issuer URL, the app (to register clients), a way to stop."""

    url: str
    app: SandboxIdentityProvider
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        self.app.stopping = True
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> IdpHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_idp(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    population: Population | None = None,
    size: int = 10_000,
    seed: int = 2026,
    clients: list[IdpClient] | None = None,
    afm_claim: str = "afm",
) -> IdpHandle:
    """Start the sandbox identity provider in the background (port 0: any free one)."""
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    url = _url(host, actual)
    app = SandboxIdentityProvider(
        population or Population(size, seed), url, clients=clients, afm_claim=afm_claim
    )
    server, thread = serve_in_thread(app, sock, "sandbox-idp")
    handle = IdpHandle(url, app, server, thread)
    deadline = time.monotonic() + _START_TIMEOUT
    while not (server.started and _answers(host, actual)):
        if time.monotonic() > deadline or not thread.is_alive():
            handle.stop()
            raise ConfigError("the sandbox identity provider did not start")
        time.sleep(0.01)
    return handle


def redirect_target(location: str) -> tuple[str, dict[str, str]]:
    """A redirect's URL without its query, and the query (tests read codes with it)."""
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", _query(parts.query)
