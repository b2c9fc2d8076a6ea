"""The ports several features share.

Each feature keeps its own ports in its package (``hub.evidence.ports``,
``hub.consent.ports``, ``hub.certificates.ports``, ``hub.audit.ports``,
``hub.auth.ports``, ...). What is left here is needed by more than one of
them: the rate limiter guards certificate issuance, notifications, the token
endpoint and public verification alike. ``hub/persistence/ratelimit.py``
implements it on the hub's database.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """Counts requests per key in a window shared by every hub node."""

    def hit(self, key: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the window resets."""
        ...
