"""One hard deadline per registry exchange, whatever the peer does.

A socket timeout bounds each *read*, not the exchange: a registry that sends
one byte of its headers, its TLS handshake or its body every 0.9 s never
trips a one-second read timeout and can hold a worker for minutes. So every
exchange runs under a :class:`Watchdog` deadline. Each connection a call
opens or takes from the pool is registered with the call; one daemon thread
per process waits for the earliest deadline and, when it passes, shuts the
connection's socket down. The call's blocked read then returns at once with
an error, which the adapter reports as a timeout because
:attr:`Watch.expired` says why the socket died. A TLS handshake runs on a
socket the ``ssl`` module has taken over and cannot be reached that way;
CPython bounds a whole handshake by the socket's timeout, so the socket's
timeout is set to what is left of the deadline before it starts.

Why not async I/O with a cancel scope: the registry port and the domain that
calls it are synchronous and the adapter tests drive ``requests``; moving the
exchange to an event loop thread would cost a cross-thread hand-off per call
and a second HTTP stack for the same guarantee. Shutting the socket down is
what a cancel does to a connection anyway. The one step no socket covers is
the name look-up (``getaddrinfo`` cannot be interrupted): registries are
configured hosts, and the connect timeout bounds everything after it.

The notification senders (``adapters.notify_smtp``, ``adapters.notify_http``)
run each send under the same watchdog: a message's lease is held for the
send's deadline, so the deadline must hold whatever the provider does.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

__all__ = ["WATCHDOG", "DeadlineAdapter", "Watch", "Watchdog"]


class Watch:
    """One exchange under a deadline: the sockets it uses and whether it ran out."""

    __slots__ = ("_held", "deadline", "done", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.done = False
        #: Sockets, or connections whose ``sock`` is looked up when the time is up.
        self._held: list[Any] = []


_CURRENT: contextvars.ContextVar[Watch | None] = contextvars.ContextVar(
    "registry_watch", default=None
)


class Watchdog:
    """Shuts down the sockets of exchanges that outlive their deadline."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, seconds: float) -> Iterator[Watch]:
        """Run the body under a deadline ``seconds`` from now."""
        entry = Watch(self._clock() + seconds)
        token = _CURRENT.set(entry)
        with self._lock:
            self._start()
            heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
            if self._heap[0][2] is entry:
                # Only an earlier deadline than the one it sleeps towards
                # needs the watchdog awake; most deadlines are later.
                self._lock.notify()
        try:
            yield entry
        finally:
            _CURRENT.reset(token)
            with self._lock:
                # A finished exchange's sockets go back to the pool: they
                # must never be shut down for a deadline that no longer applies.
                entry.done = True
                entry._held.clear()

    def remaining(self) -> float | None:
        """Seconds left to the current exchange, or None outside one."""
        entry = _CURRENT.get()
        return None if entry is None else max(0.0, entry.deadline - self._clock())

    def register(self, held: Any) -> None:
        """Tie a socket or connection to the current exchange; shut it now if over time."""
        entry = _CURRENT.get()
        if entry is None or held is None:
            return
        with self._lock:
            if entry.done:
                return
            if entry.expired:
                _shut(held)
                return
            entry._held.append(held)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="registry-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0][0] - self._clock()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                _, _, entry = heapq.heappop(self._heap)
                entry.expired = True
                for held in entry._held:
                    _shut(held)
                entry._held.clear()


def _shut(held: Any) -> None:
    """Wake any thread blocked on the socket; its owner closes it as it unwinds."""
    sock = held if isinstance(held, socket.socket) else getattr(held, "sock", None)
    if not isinstance(sock, socket.socket) or sock.fileno() == -1:
        return  # Not connected yet, closed, or handed over to the ssl module.
    # The plain socket's shutdown, also for an SSLSocket: its own would drop
    # the TLS state under the feet of the thread that is reading.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


#: The process's one watchdog; its thread starts with the first exchange.
WATCHDOG = Watchdog()


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        # Registered right after the TCP connect, so that a TLS handshake
        # dribbled byte by byte is under the deadline too.
        sock = super()._new_conn()
        WATCHDOG.register(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        WATCHDOG.register(sock)
        left = WATCHDOG.remaining()
        if left is not None:
            # The handshake that follows is bounded as a whole by this timeout.
            current = sock.gettimeout()
            sock.settimeout(left if current is None else min(current, left))
        return sock

    def connect(self) -> None:
        super().connect()
        # Now ``self.sock`` is the TLS socket; if the deadline passed during
        # the handshake, this shuts it at once.
        WATCHDOG.register(self)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        # The connection, kept alive or fresh, belongs to this exchange now;
        # its socket is looked up when the deadline passes.
        WATCHDOG.register(conn)
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        WATCHDOG.register(conn)
        return conn


def _pools() -> dict[str, type]:
    return {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """A ``requests`` transport whose sockets are all under the :data:`WATCHDOG`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        manager: PoolManager = self.poolmanager
        manager.pool_classes_by_scheme = _pools()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        manager: ProxyManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _pools()
        return manager
