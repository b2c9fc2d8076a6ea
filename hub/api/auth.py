"""The OAuth 2.0 token endpoint (client credentials, private_key_jwt) and its metadata.

Agencies integrate with off-the-shelf OAuth libraries, so everything here
follows the RFCs those libraries read:

* ``POST /oauth2/token`` (RFC 6749 §4.4 with RFC 7523 client assertions)
  answers its refusals as RFC 6749 §5.2 errors (``error`` and
  ``error_description``, beside the hub's problem members; see
  :func:`hub.api.problems.problem_response`);
* ``GET /.well-known/oauth-authorization-server`` is the RFC 8414 metadata
  that tells a client the token endpoint, how to authenticate and where the
  token keys are;
* ``GET /oauth2/jwks.json`` publishes the token keys, apart from the seal keys
  of ``/.well-known/jwks.json``.

The token endpoint needs no login, and each request costs a signature check
and a replay record, so each client address is rate-limited (429 with
``Retry-After``).
"""

from __future__ import annotations

from typing import Any, Final

from hub.api._context import services
from hub.api._limits import check_rate_limit
from hub.api._responses import JsonResult, json_body
from hub.auth.service import ASSERTION_ALGORITHMS, MAX_ASSERTION_LIFETIME
from hub.errors import InvalidClient, TokenRequestRefused, UnsupportedGrantType

__all__ = ["TOKEN_PATH", "metadata", "token", "token_jwks"]

#: Where the token endpoint is served; its errors take the RFC 6749 form.
TOKEN_PATH: Final = "/oauth2/token"  # noqa: S105 - a path, not a secret
TOKEN_JWKS_PATH: Final = "/oauth2/jwks.json"  # noqa: S105 - a path, not a secret
JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# Clients may cache published keys and metadata briefly; a rotation shows up soon.
_CACHE: Final = "public, max-age=300"


def _field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def token(body: dict[str, Any]) -> JsonResult:
    check_rate_limit(services().token_limiter, "token")
    grant_type = _field(body, "grant_type")
    if grant_type is None:
        raise TokenRequestRefused("grant_type is required (client_credentials).")
    if grant_type != "client_credentials":
        raise UnsupportedGrantType("Only the client_credentials grant is supported.")
    assertion_type = _field(body, "client_assertion_type")
    assertion = _field(body, "client_assertion")
    if assertion is None or assertion_type is None:
        # RFC 6749 §5.2: a request without client authentication is invalid_client.
        raise InvalidClient(
            "Authenticate with private_key_jwt: client_assertion_type "
            f"{JWT_BEARER} and a client_assertion signed by the agency's key."
        )
    if assertion_type != JWT_BEARER:
        raise InvalidClient(f"The only client_assertion_type accepted is {JWT_BEARER}.")
    issued = services().tokens.exchange(
        assertion, scope=_field(body, "scope"), client_id=_field(body, "client_id")
    )
    return json_body(
        {
            "access_token": issued.access_token,
            "token_type": issued.token_type,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def metadata() -> JsonResult:
    """RFC 8414 authorization server metadata."""
    tokens = services().tokens
    base = services().settings.public_url
    catalog = services().catalog.catalog
    document = {
        "issuer": tokens.issuer,
        "token_endpoint": tokens.token_endpoint,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "jwks_uri": base + TOKEN_JWKS_PATH,
        "scopes_supported": sorted(catalog.purposes),
        "service_documentation": base + "/ui/",
        # Not registered by RFC 8414: how long a client assertion may live and
        # that its jti is single-use until then (see docs/integrating.md).
        "client_assertion_max_lifetime": MAX_ASSERTION_LIFETIME,
    }
    return json_body(document, headers={"Cache-Control": _CACHE})


def token_jwks() -> JsonResult:
    """The public keys of the access tokens (and sessions) this hub signs."""
    return json_body(services().tokens.jwks(), headers={"Cache-Control": _CACHE})
