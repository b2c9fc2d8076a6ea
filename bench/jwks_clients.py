"""Why the hub keeps its own JWKS cache: PyJWT's PyJWKClient, measured beside it.

``python -m bench.jwks_clients`` serves one JWKS on 127.0.0.1 and asks both
caches for (a) 200 key ids that do not exist, counting the fetches they cause
at the issuer, and (b) the real key after their cache expired while the
issuer answers 503. Bounded: a few hundred in-process look-ups, two seconds.

Measured with PyJWT 2.15.1 (the locked version): both make no extra fetch for
forged key ids (PyJWKClient has a refresh cooldown since 2.10); when the
issuer is down PyJWKClient raises ``PyJWKClientConnectionError`` while
``adapters.oidc.JwksKeys`` keeps verifying with the keys it fetched before
(for up to a day), so citizens' tokens keep working through an issuer outage.
PyJWKClient also reads the JWKS without a size bound, through urllib rather
than the hub's ``requests`` session. Hence the hand-written cache stays.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.oidc import JwksKeys

FORGED = 200


def _jwks() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="ES256")
    return json.dumps({"keys": [jwk]}).encode()


class _Issuer:
    """A JWKS endpoint on loopback that counts its requests and can go down."""

    def __init__(self) -> None:
        body = _jwks()
        self.hits = 0
        self.down = False
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.hits += 1
                status, payload = (503, b"") if issuer.down else (200, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _forged(issuer: _Issuer, lookup: Callable[[str], Any]) -> tuple[int, dict[str, int]]:
    issuer.down = False
    lookup("k1")
    before = issuer.hits
    errors: collections.Counter[str] = collections.Counter()
    for i in range(FORGED):
        try:
            lookup(f"forged-{i}")
        except Exception as exc:  # any failure is the answer being measured
            errors[type(exc).__name__] += 1
    return issuer.hits - before, dict(errors)


def _outage(issuer: _Issuer, lookup: Callable[[str], Any]) -> str:
    issuer.down = False
    lookup("k1")
    issuer.down = True
    time.sleep(1.2)  # past both caches' lifetime of one second
    try:
        return "verified with the cached key" if lookup("k1") is not None else "no key"
    except Exception as exc:  # any failure is the answer being measured
        return f"raised {type(exc).__name__}"


def main() -> None:
    issuer = _Issuer()

    def pyjwk(lifespan: float) -> Callable[[str], Any]:
        client = jwt.PyJWKClient(issuer.url, lifespan=lifespan)
        return lambda kid: client.get_signing_key(kid).key

    print(f"PyJWT {jwt.__version__}")
    print(f"{FORGED} forged kids, fetches caused:")
    print("  PyJWKClient", _forged(issuer, pyjwk(300)))
    print("  JwksKeys   ", _forged(issuer, JwksKeys(issuer.url)))
    print("issuer down after the cache expired:")
    print("  PyJWKClient", _outage(issuer, pyjwk(1)))
    print("  JwksKeys   ", _outage(issuer, JwksKeys(issuer.url, ttl=1, min_refresh=0)))
    issuer.server.shutdown()


if __name__ == "__main__":
    main()
