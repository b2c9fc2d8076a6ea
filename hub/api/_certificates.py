"""How the certificate, verification and trust handlers reach their services.

The certificate service needs the seal key, so it is absent (``None``) when
the hub runs without keys; these accessors turn that into a 503 problem.
They also find the client's address for the public endpoints' rate limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connexion.context import scope as _scope

from hub.api._context import services
from hub.errors import ServiceUnavailable, TooManyRequests

if TYPE_CHECKING:
    from hub.domain.certificates import CertificateService
    from hub.domain.ports import RateLimiter
    from hub.domain.sealing.keystore import FileKeyStore

__all__ = ["certificate_service", "check_rate_limit", "client_address", "keystore"]


def certificate_service() -> CertificateService:
    found: CertificateService | None = getattr(services(), "certificates", None)
    if found is None:
        raise ServiceUnavailable("The hub has no seal key; run 'hub keys init'.")
    return found


def keystore() -> FileKeyStore:
    found: FileKeyStore | None = services().keystore
    if found is None:
        raise ServiceUnavailable("The hub has no keys to publish; run 'hub keys init'.")
    return found


def client_address() -> str:
    """The peer's address as the server saw it (a proxy's, unless it forwards)."""
    client = _scope.get("client")
    if client:
        return str(client[0])
    return "unknown"


def check_rate_limit(limiter_name: str = "verify_limiter", what: str = "verification") -> None:
    """Count this request against the client's window; 429 when it is spent."""
    limiter: RateLimiter | None = getattr(services(), limiter_name, None)
    if limiter is None:
        return
    wait = limiter.hit(client_address())
    if wait is not None:
        raise TooManyRequests(
            f"Too many {what} requests; try again in {wait} seconds.", retry_after=wait
        )
