"""One error root for the hub, so that every failure leaves as problem+json.

Each leaf carries the HTTP status it maps to and a stable problem ``type`` URI
(RFC 9457). The API turns any ``HubError`` into a problem document; the CLI
catches ``HubError`` and prints its diagnostics. Errors of the libraries
underneath (SQLAlchemy, zeep, requests, pyhanko) are translated into these at
the boundary where they occur and never reach the domain.

The tree::

    HubError (500 internal)
    ├── ConfigError (500)
    ├── BadRequest (400)
    │   ├── InvalidIdentifier (400)
    │   ├── ValidationFailed (400)
    │   └── TokenRequestRefused (400)      RFC 6749 §5.2 errors of /oauth2/token
    │       ├── UnsupportedGrantType (400)
    │       └── InvalidScope (400)
    ├── Unauthorized (401)
    │   └── InvalidToken (401)
    │       └── InvalidClient (400)         a client assertion that proves nothing
    ├── Forbidden (403)
    │   ├── PurposeNotAllowed (403)
    │   └── ConsentRequired (403)
    ├── NotFound (404)
    │   └── CitizenNotFound (404)
    ├── MethodNotAllowed (405)
    ├── Conflict (409)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── TooManyRequests (429)
    ├── StorageError (503)
    ├── ServiceUnavailable (503)
    │   └── IdentityProviderUnavailable (503)
    └── RegistryError (502)
        ├── RegistryUnavailable (503)
        └── RegistryTimeout (504)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "PROBLEM_BASE",
    "BadRequest",
    "CitizenNotFound",
    "ConfigError",
    "Conflict",
    "ConsentRequired",
    "Forbidden",
    "HubError",
    "IdentityProviderUnavailable",
    "InvalidClient",
    "InvalidIdentifier",
    "InvalidScope",
    "InvalidToken",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PurposeNotAllowed",
    "RegistryError",
    "RegistryTimeout",
    "RegistryUnavailable",
    "ServiceUnavailable",
    "StorageError",
    "TokenRequestRefused",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedGrantType",
    "UnsupportedMediaType",
    "ValidationFailed",
]

#: Problem type URIs are stable identifiers; they need not resolve, but the
#: operator guide documents each one under this base.
PROBLEM_BASE = "https://oncehub.gov.gr/problems/"


class HubError(Exception):
    """The root of every error the hub raises on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def diagnostics(self) -> str:
        """A human-readable explanation for the CLI and the logs."""
        return f"{self.title}: {self.detail}"

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extensions)
        return problem


class ConfigError(HubError):
    slug = "configuration"
    title = "Configuration error"


class BadRequest(HubError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidIdentifier(BadRequest):
    slug = "invalid-identifier"
    title = "Invalid citizen identifier"


class ValidationFailed(BadRequest):
    slug = "validation-failed"
    title = "Request validation failed"


class TokenRequestRefused(BadRequest):
    """A token request the token endpoint cannot act on (``invalid_request``).

    ``oauth_error`` is the RFC 6749 §5.2 error code the token endpoint
    answers with, beside the problem members, so that OAuth libraries show it.
    """

    slug = "invalid-token-request"
    title = "Invalid token request"
    oauth_error: ClassVar[str] = "invalid_request"


class UnsupportedGrantType(TokenRequestRefused):
    slug = "unsupported-grant-type"
    title = "Unsupported grant type"
    oauth_error = "unsupported_grant_type"


class InvalidScope(TokenRequestRefused):
    slug = "invalid-scope"
    title = "Invalid scope"
    oauth_error = "invalid_scope"


class Unauthorized(HubError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class InvalidToken(Unauthorized):
    slug = "invalid-token"
    title = "Invalid token"


class InvalidClient(InvalidToken):
    """The client assertion does not authenticate the agency (RFC 7523 §3.2).

    400, the default of RFC 6749 §5.2: a 401 would have to name an HTTP
    authentication scheme, and private_key_jwt authenticates in the body.
    """

    status = 400
    slug = "invalid-client"
    title = "Client authentication failed"
    oauth_error: ClassVar[str] = "invalid_client"


class Forbidden(HubError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class PurposeNotAllowed(Forbidden):
    slug = "purpose-not-allowed"
    title = "Purpose not allowed"


class ConsentRequired(Forbidden):
    slug = "consent-required"
    title = "Consent required"


class NotFound(HubError):
    status = 404
    slug = "not-found"
    title = "Not found"


class CitizenNotFound(NotFound):
    slug = "citizen-not-found"
    title = "Citizen not found"


class MethodNotAllowed(HubError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class Conflict(HubError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(HubError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(HubError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class TooManyRequests(HubError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class StorageError(HubError):
    status = 503
    slug = "storage-unavailable"
    title = "Storage unavailable"


class ServiceUnavailable(HubError):
    """The hub is not ready for this request (for example, no keys loaded)."""

    status = 503
    slug = "not-ready"
    title = "Service not ready"


class IdentityProviderUnavailable(ServiceUnavailable):
    """The citizens' identity issuer (its discovery, keys or token endpoint) failed us.

    A citizen token that cannot be checked because of it is neither valid nor
    forged: the answer is 503, so that clients try again instead of signing out.
    """

    slug = "identity-provider-unavailable"
    title = "Identity provider unavailable"


class RegistryError(HubError):
    """A registry answered wrongly: a fault, a malformed or hostile reply."""

    status = 502
    slug = "registry-error"
    title = "Registry error"

    def __init__(self, detail: str | None = None, *, transient: bool = False, **extensions: Any):
        super().__init__(detail, **extensions)
        #: Whether trying again may help (a server fault rather than a bad answer).
        self.transient = transient


class RegistryUnavailable(RegistryError):
    """A registry could not be reached, or its circuit is open."""

    status = 503
    slug = "registry-unavailable"
    title = "Registry unavailable"


class RegistryTimeout(RegistryError):
    status = 504
    slug = "registry-timeout"
    title = "Registry timeout"
