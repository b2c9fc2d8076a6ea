"""An outside RFC 3161 timestamp authority over HTTP, as a pyhanko ``TimeStamper``.

The domain does not import an HTTP client: this adapter builds pyhanko's
``HTTPTimeStamper`` (which speaks ``application/timestamp-query`` over
``requests``) with the operator's authentication, and the domain's
:class:`~hub.domain.sealing.pades.GuardedTimeStamper` turns any failure of it
into a clear refusal or the configured fallback.
"""

from __future__ import annotations

from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

__all__ = ["http_timestamper"]


def http_timestamper(
    url: str,
    *,
    timeout: float,
    basic_auth: tuple[str, str] | None = None,
    bearer: str | None = None,
) -> TimeStamper:
    """A timestamper for the TSA at ``url`` (basic or bearer authentication, or none)."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    return HTTPTimeStamper(
        url,
        https=url.startswith("https://"),
        timeout=timeout,
        auth=basic_auth,
        headers=headers,
    )
