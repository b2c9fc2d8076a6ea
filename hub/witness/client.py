"""The hub's HTTP transport to witnesses (C2SP ``add-checkpoint``).

A thin adapter of :class:`~hub.audit.witnessing.WitnessTransport`
on ``requests``: one session with keep-alive (the protocol asks for it), a
timeout on every call, redirects refused (a witness answers where it is
configured), and network failures translated to :class:`WitnessUnreachable`.
"""

from __future__ import annotations

from typing import Final

import requests

from hub.audit.witnessing import WitnessReply
from hub.errors import ServiceUnavailable

__all__ = ["HttpWitnessTransport", "WitnessUnreachable"]

#: The largest answer read from a witness: a few signature lines.
_MAX_REPLY: Final = 64 * 1024


class WitnessUnreachable(ServiceUnavailable):
    slug = "witness-unreachable"
    title = "A witness could not be reached"


class HttpWitnessTransport:
    """POSTs add-checkpoint bodies with ``requests``."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._session = requests.Session()

    def add_checkpoint(self, url: str, body: str) -> WitnessReply:
        target = url.rstrip("/") + "/add-checkpoint"
        try:
            response = self._session.post(
                target,
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            )
            raw = response.raw.read(_MAX_REPLY + 1, decode_content=True)
            response.close()
        except requests.RequestException as exc:
            raise WitnessUnreachable(f"{exc.__class__.__name__} from the witness") from exc
        if len(raw) > _MAX_REPLY:
            raise WitnessUnreachable("the witness answered too much")
        return WitnessReply(response.status_code, raw.decode("utf-8", errors="replace"))

    def close(self) -> None:
        self._session.close()
