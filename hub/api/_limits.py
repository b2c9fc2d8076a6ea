"""Per-client rate limits of the public endpoints (token, verification).

Each limiter is a service the handler names (``services().token_limiter``,
``services().verify_limiter``), so a misspelt one fails type checking instead
of silently switching the limit off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connexion.context import scope as _scope

from hub.errors import TooManyRequests

if TYPE_CHECKING:
    from hub.domain.ports import RateLimiter

__all__ = ["check_rate_limit", "client_address"]


def client_address() -> str:
    """The peer's address as the server saw it (a proxy's, unless it forwards)."""
    client = _scope.get("client")
    if client:
        return str(client[0])
    return "unknown"


def check_rate_limit(limiter: RateLimiter, what: str) -> None:
    """Count this request against the client's window; 429 when it is spent."""
    wait = limiter.hit(client_address())
    if wait is not None:
        raise TooManyRequests(
            f"Too many {what} requests; try again in {wait} seconds.", retry_after=wait
        )
