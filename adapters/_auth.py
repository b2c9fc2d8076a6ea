"""How the hub proves who it is to a registry: the catalogue's ``auth:``, resolved.

The catalogue says which kind a registry wants (OAuth2 client credentials,
an API key header, HTTP basic, a WS-Security UsernameToken, mutual TLS) and
names its ``credentials``; the secrets and files themselves come from the
settings (:class:`Access`), so nothing secret is ever in the catalogue.

OAuth2 tokens are fetched from the registry's token endpoint with the
client's secret or a ``private_key_jwt`` assertion (RFC 7523) signed with a
key file, cached until shortly before they expire, and refreshed by one
thread while the others wait on the lock and reuse its token. A registry
that refuses a cached token (HTTP 401) gets one fresh token and one more try.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from hub.errors import ConfigError, RegistryError

__all__ = [
    "Access",
    "ApiKey",
    "Basic",
    "ClientCredentials",
    "NoAuth",
    "RequestAuth",
    "request_auth",
]

#: A token is renewed this long before it expires, at most a tenth of its life.
REFRESH_MARGIN = 30.0
#: How long a client assertion is valid: one use, within a token request.
ASSERTION_LIFETIME = 60


@dataclass(frozen=True, slots=True)
class Access:
    """The secrets and files a registry's access needs, read from the settings."""

    credentials: tuple[str, str] | None = None
    secret: str | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    ca_file: Path | None = None
    signing_key: Path | None = None
    signing_cert: Path | None = None
    #: The registry's certificate, which signed replies are checked against.
    registry_cert: Path | None = None

    def client_certificate(self, name: str) -> tuple[str, str]:
        """The certificate and key files for mutual TLS, or a ConfigError naming them."""
        if self.client_cert is None or self.client_key is None:
            raise ConfigError(
                f"registry {name} wants mutual TLS: set HUB_REGISTRY_CLIENT_CERT_<NAME> and "
                "HUB_REGISTRY_CLIENT_KEY_<NAME> for its credentials name"
            )
        return str(self.client_cert), str(self.client_key)

    def pair(self, name: str) -> tuple[str, str]:
        if self.credentials is None:
            raise ConfigError(
                f"registry {name} needs HUB_REGISTRY_CREDENTIALS_<NAME> for its credentials name"
            )
        return self.credentials


#: Sends one HTTP exchange within a budget: (method, url, budget, headers, body) -> (status, body).
Send = Callable[[str, str, float, dict[str, str], bytes | None], tuple[int, bytes]]


class RequestAuth(Protocol):
    """Headers that authenticate one request to a REST registry."""

    def headers(self, send: Send, budget: float) -> dict[str, str]: ...

    def refused(self) -> bool:
        """The registry refused the credentials: whether a fresh try may help."""
        ...


class NoAuth:
    def headers(self, send: Send, budget: float) -> dict[str, str]:
        return {}

    def refused(self) -> bool:
        return False


class Basic:
    """HTTP basic authentication (RFC 7617)."""

    def __init__(self, user: str, password: str) -> None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = {"Authorization": f"Basic {token}"}

    def headers(self, send: Send, budget: float) -> dict[str, str]:
        return dict(self._header)

    def refused(self) -> bool:
        return False


class ApiKey:
    """A key in a header the registry names (``X-API-Key`` unless told)."""

    def __init__(self, header: str, key: str) -> None:
        self._header = {header: key}

    def headers(self, send: Send, budget: float) -> dict[str, str]:
        return dict(self._header)

    def refused(self) -> bool:
        return False


class ClientCredentials:
    """OAuth 2.0 client credentials grant (RFC 6749 §4.4), token cached until near expiry."""

    def __init__(
        self,
        name: str,
        token_url: str,
        client_id: str,
        *,
        secret: str | None = None,
        signing_key: Path | None = None,
        scope: str | None = None,
        audience: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (secret is None) == (signing_key is None):
            raise ConfigError(f"registry {name}: OAuth2 needs a client secret or a signing key")
        self.name = name
        self.token_url = token_url
        self.client_id = client_id
        self.secret = secret
        self.scope = scope
        self.audience = audience or token_url
        self.clock = clock
        self._key: Any = None
        self._algorithm = ""
        if signing_key is not None:
            self._key, self._algorithm = _signing_key(name, signing_key)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def headers(self, send: Send, budget: float) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token, self._renew_at = self._fetch(send, budget)
            return {"Authorization": f"Bearer {self._token}"}

    def refused(self) -> bool:
        with self._lock:
            had = self._token is not None
            self._token = None
            return had

    def _form(self) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self._key is not None:
            now = int(self.clock())
            claims = {
                "iss": self.client_id,
                "sub": self.client_id,
                "aud": self.audience,
                "jti": uuid.uuid4().hex,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME,
            }
            form["client_id"] = self.client_id
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = jwt.encode(claims, self._key, algorithm=self._algorithm)
        return form

    def _fetch(self, send: Send, budget: float) -> tuple[str, float]:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if self.secret is not None:
            # client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded first.
            pair = f"{_form_quote(self.client_id)}:{_form_quote(self.secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        status, body = send(
            "POST", self.token_url, budget, headers, urlencode(self._form()).encode()
        )
        if status in (400, 401, 403):
            raise RegistryError(f"registry {self.name} refused the hub's client credentials")
        if status >= 500:
            raise RegistryError(f"registry {self.name}: token endpoint failed", transient=True)
        if status != 200:
            raise RegistryError(f"registry {self.name}: token endpoint answered HTTP {status}")
        try:
            answer = json.loads(body)
            token = answer["access_token"]
            lifetime = float(answer.get("expires_in", 60))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise RegistryError(f"registry {self.name}: malformed token answer") from exc
        if (
            not isinstance(token, str)
            or not token
            or str(answer.get("token_type", "")).lower()
            not in (
                "bearer",
                "",
            )
        ):
            raise RegistryError(f"registry {self.name}: token answer without a bearer token")
        margin = min(REFRESH_MARGIN, max(lifetime, 0.0) / 10)
        return token, self.clock() + max(lifetime - margin, 0.0)


def _form_quote(value: str) -> str:
    return urlencode({"": value})[1:]


def _signing_key(name: str, path: Path) -> tuple[Any, str]:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"registry {name}: cannot read the signing key {path}") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key, "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256"
    raise ConfigError(f"registry {name}: the signing key must be EC P-256, Ed25519 or RSA")


def request_auth(name: str, endpoint: str, auth: Mapping[str, Any], access: Access) -> RequestAuth:
    """The authentication a REST registry's ``auth:`` asks for, with its secrets."""
    kind = str(auth.get("kind", "none"))
    if kind == "none":
        return NoAuth()
    if kind == "basic":
        return Basic(*access.pair(name))
    if kind == "api_key":
        if access.secret is None:
            raise ConfigError(f"registry {name} needs HUB_REGISTRY_SECRET_<NAME> (its API key)")
        return ApiKey(str(auth.get("header", "X-API-Key")), access.secret)
    if kind == "oauth2_client_credentials":
        token_url = auth.get("token_url")
        if not isinstance(token_url, str) or not token_url:
            raise ConfigError(f"registry {name}: OAuth2 needs a token_url")
        method = str(auth.get("client_auth", "client_secret_basic"))
        if method not in ("client_secret_basic", "private_key_jwt"):
            raise ConfigError(
                f"registry {name}: client_auth is client_secret_basic or private_key_jwt"
            )
        client_id, secret = access.pair(name)
        if method == "private_key_jwt" and access.signing_key is None:
            raise ConfigError(
                f"registry {name}: private_key_jwt needs HUB_REGISTRY_SIGNING_KEY_<NAME>"
            )
        signed = method == "private_key_jwt"
        return ClientCredentials(
            name,
            # Resolved like a link: "/oauth/token" is at the endpoint's host.
            urljoin(endpoint.rstrip("/") + "/", token_url),
            client_id,
            secret=None if signed else secret,
            signing_key=access.signing_key if signed else None,
            scope=auth.get("scope"),
            audience=auth.get("audience"),
        )
    raise ConfigError(f"registry {name}: auth kind {kind} is not for REST registries")


def session_tls(session: requests.Session, name: str, mutual_tls: bool, access: Access) -> None:
    """The client certificate and the registry's own CA, where the catalogue asks for them."""
    if mutual_tls:
        session.cert = access.client_certificate(name)
    if access.ca_file is not None:
        session.verify = str(access.ca_file)
