"""The sandbox vehicle registry: REST behind OAuth 2.0 client credentials.

It exists so that onboarding a REST registry by files only (issue 16) is
tested against a registry that behaves like the real, protected ones: the
hub must fetch a token from the registry's own token endpoint with its
client id and secret, send it as a bearer token, put parameters in the query
string and a JSON search body in a POST, and follow the answer's nesting.
Its contract is ``specs/registries/vehicles.yaml`` (OpenAPI 3.1). Routes:

* ``POST /oauth/token``: client credentials grant, client authenticated by
  HTTP basic (``client_secret_basic``); tokens live ``token_ttl`` seconds;
* ``POST /v2/vehicles/search?country=GR&status=active``: body
  ``{"owner": {"taxId": AFM}}``; the owner's vehicles under ``result``;
* ``GET /health``.

Vehicles are derived from the synthetic population: a citizen's AFM picks
how many and which, so the same seed always gives the same answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import parse_qs

from adapters.sandbox._asgi import Request, Response, SandboxApp
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.population import REFERENCE_DATE, Citizen, Population
from hub.domain.identity import is_valid_afm

__all__ = ["DEFAULT_CLIENT", "VehicleRegistry", "vehicles_of"]

#: The client id and secret the sandbox accepts unless told otherwise.
DEFAULT_CLIENT = ("hub", "vehicles-sandbox-secret")
JSON = "application/json"
_MAKES = ("Toyota", "Fiat", "Peugeot", "Hyundai", "Opel", "Skoda", "Suzuki")
_KINDS = ("car", "motorcycle", "truck")


def _json(status: int, data: object, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, JSON, body, headers or [])


def _problem(status: int, title: str) -> Response:
    return Response(
        status,
        "application/problem+json",
        json.dumps({"type": "about:blank", "title": title, "status": status}).encode(),
    )


def vehicles_of(citizen: Citizen) -> list[dict[str, object]]:
    """The citizen's vehicles: none for minors, else zero to three picked by the AFM."""
    if citizen.is_minor:
        return []
    digest = hashlib.sha256(citizen.afm.encode()).digest()
    found: list[dict[str, object]] = []
    for n in range(digest[0] % 4):
        letters = "".join(chr(ord("A") + digest[1 + n + k] % 26) for k in range(3))
        found.append(
            {
                "plate": f"{letters}-{1000 + int.from_bytes(digest[5 + 2 * n : 7 + 2 * n]) % 9000}",
                "kind": _KINDS[digest[12 + n] % len(_KINDS)],
                "make": _MAKES[digest[16 + n] % len(_MAKES)],
                "firstRegistered": f"{2000 + digest[20 + n] % 25}-0{1 + digest[24 + n] % 9}-15",
            }
        )
    return found


class VehicleRegistry(SandboxApp):
    """Vehicles by owner, for holders of a bearer token from its own token endpoint."""

    registry_id = "vehicles"

    def __init__(
        self,
        population: Population,
        faults: Faults | None = None,
        *,
        client: tuple[str, str] = DEFAULT_CLIENT,
        token_ttl: float = 300.0,
    ) -> None:
        super().__init__(population, faults)
        self.client = client
        self.token_ttl = token_ttl
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        #: Tokens issued since start, and searches answered: what tests count.
        self.tokens_issued = 0
        self.searches = 0

    def revoke_all(self) -> None:
        """Forget every token, as a registry does when it rotates its keys."""
        with self._lock:
            self._tokens.clear()

    def is_operation(self, request: Request) -> bool:
        return request.path.startswith("/v2/")

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/health":
            return _json(200, {"status": "ok"})
        if request.method == "POST" and request.path == "/oauth/token":
            return self._token(request)
        if request.method == "POST" and request.path == "/v2/vehicles/search":
            return self._search(request)
        return _problem(404, "No such route")

    def _token(self, request: Request) -> Response:
        header = request.headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, encoded = header.partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            user, password = "", ""
        form = parse_qs(request.body.decode("latin-1"))
        if scheme.lower() != "basic" or not (
            secrets.compare_digest(user, self.client[0])
            and secrets.compare_digest(password, self.client[1])
        ):
            return _json(401, {"error": "invalid_client"}, [(b"www-authenticate", b"Basic")])
        if form.get("grant_type") != ["client_credentials"]:
            return _json(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + self.token_ttl
            self.tokens_issued += 1
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return _json(200, answer, [(b"cache-control", b"no-store")])

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        with self._lock:
            expires = self._tokens.get(token)
        return scheme.lower() == "bearer" and expires is not None and expires > time.monotonic()

    def _search(self, request: Request) -> Response:
        if not self._authorised(request):
            return _json(401, {"error": "invalid_token"}, [(b"www-authenticate", b"Bearer")])
        query = parse_qs(request.query)
        if query.get("country") != ["GR"] or query.get("status", ["active"])[0] not in (
            "active",
            "all",
        ):
            return _problem(400, "country=GR and status=active|all are required")
        try:
            body = json.loads(request.body)
            afm = body["owner"]["taxId"]
        except (ValueError, KeyError, TypeError):
            return _problem(400, "The body must be {owner: {taxId}}")
        if not isinstance(afm, str) or not is_valid_afm(afm):
            return _problem(400, "Invalid tax id")
        citizen = self.population.by_afm(afm)
        if citizen is None:
            return _problem(404, "No such owner")
        with self._lock:
            self.searches += 1
        return _json(
            200,
            {
                "result": {
                    "asOf": REFERENCE_DATE.isoformat(),
                    "owner": {"taxId": afm},
                    "vehicles": vehicles_of(citizen),
                }
            },
        )

    def server_error(self) -> Response:
        return _problem(500, "Internal error")

    def too_large(self) -> Response:
        return _problem(413, "Request too large")

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        return normal
