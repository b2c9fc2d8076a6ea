"""The hub's HTTP server settings: slow clients are cut off, proxies are named.

uvicorn closes idle keep-alive connections, but it has no deadline for a
request's *headers*: a client that opens a connection and sends one header
byte every few seconds (slow-loris) holds it forever, and a few hundred such
clients hold the server. :class:`HeaderDeadline` adds that deadline to
uvicorn's HTTP protocol: from the moment a connection opens, or a kept-alive
connection starts its next request, the client has ``HUB_HEADER_TIMEOUT``
seconds to finish the request line and headers, or the connection is closed.
The body is not covered (uploads are bounded by size in the middleware, and a
handler reading a body waits only as long as its own work does).

:func:`server_config` is the one place that turns settings into a
``uvicorn.Config``: the deadline above, ``HUB_MAX_CONNECTIONS`` (uvicorn's
``limit_concurrency``: beyond it, new requests get 503), the keep-alive
timeout, and ``HUB_TRUSTED_PROXIES`` — uvicorn otherwise believes
``X-Forwarded-For`` from loopback, which lets any local client choose the
address the rate limits count.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer

import uvicorn
from prometheus_client import start_wsgi_server

from hub.config import Settings
from hub.logs import logging_config

if TYPE_CHECKING:
    from hub.app import Services

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]

__all__ = [
    "HeaderDeadline",
    "MetricsListener",
    "header_deadline_protocol",
    "server_config",
    "start_metrics_listener",
]


class HeaderDeadline(_Base):
    """uvicorn's HTTP protocol with a deadline on each request's headers.

    A request's headers are complete when uvicorn starts its request cycle
    (``self.cycle`` changes); until then a timer runs. It is armed when the
    connection opens and again when data arrives for a next request after a
    finished one, so a kept-alive connection cannot dribble either.
    """

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        if self._header_timer is None and (before is None or before.response_complete):
            self._arm()
        super().data_received(data)
        if self.cycle is not before:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        # A request whose headers are complete is being served: leave it be.
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if not self.transport.is_closing():
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[HeaderDeadline]:
    """A :class:`HeaderDeadline` class with its deadline set to ``seconds``."""
    return type("HubHttpProtocol", (HeaderDeadline,), {"header_timeout": seconds})


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration of a hub serving ``app`` as ``settings`` say."""
    trusted = list(settings.trusted_proxies)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=header_deadline_protocol(settings.header_timeout),
        access_log=False,
        # The hub's own logging config, redacting filter included, so any
        # handler uvicorn sets up carries the filter too.
        log_config=logging_config(settings.log_level),
        lifespan="on",
        server_header=False,
        # Forwarded headers are believed only from the configured proxies;
        # with none, the peer's own address is the client's.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
    )


class MetricsListener:
    """The separate ``/metrics`` listener of ``HUB_METRICS_ADDRESS``, in its own thread."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_listener(services: Services, offset: int = 0) -> MetricsListener | None:
    """Serve the metrics on ``HUB_METRICS_ADDRESS`` (an internal interface), if set.

    Prometheus then scrapes an address the public never reaches, and the
    main port's ``/metrics`` answers 404. Worker ``i`` of ``hub serve
    --workers N`` listens on the port plus ``i``: each process counts its
    own requests, so each is scraped on its own (and summed by the query).
    """
    listener = services.settings.metrics_listener
    if listener is None:
        return None
    host, port = listener
    server, thread = start_wsgi_server(port + offset, addr=host, registry=services.metrics.registry)
    return MetricsListener(server, thread)
