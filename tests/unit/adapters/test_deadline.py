"""The watchdog ends a blocked exchange at its deadline, and only then.

Sockets here are local socket pairs: no network, but a real blocking read
that only a shutdown can end.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from adapters._deadline import WATCHDOG, Watchdog


def test_a_blocked_read_returns_at_the_deadline() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        started = time.monotonic()
        with WATCHDOG.watch(0.3) as watch:
            WATCHDOG.register(ours)
            # The peer never writes: only the watchdog can end this read.
            assert ours.recv(1) == b""
        elapsed = time.monotonic() - started
    assert watch.expired
    assert 0.25 < elapsed < 2.0, elapsed


def test_a_connection_is_resolved_to_its_socket_when_the_time_is_up() -> None:
    class Connection:
        sock: socket.socket | None = None

    ours, peer = socket.socketpair()
    connection = Connection()
    with ours, peer, WATCHDOG.watch(0.2) as watch:
        WATCHDOG.register(connection)
        # Connected after it was registered, as a fresh pooled connection is.
        connection.sock = ours
        assert ours.recv(1) == b""
    assert watch.expired


def test_a_finished_exchange_leaves_its_socket_alone() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        with WATCHDOG.watch(0.1) as watch:
            WATCHDOG.register(ours)
        time.sleep(0.3)
        # Back in the pool, the socket still works for the next exchange.
        peer.sendall(b"x")
        assert ours.recv(1) == b"x"
    assert not watch.expired


def test_registering_after_the_deadline_shuts_at_once() -> None:
    dog = Watchdog()
    ours, peer = socket.socketpair()
    with ours, peer, dog.watch(0.05) as watch:
        deadline = time.monotonic() + 5
        while not watch.expired and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watch.expired
        dog.register(ours)
        assert ours.recv(1) == b""


def test_outside_an_exchange_nothing_is_watched() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        WATCHDOG.register(ours)
        assert WATCHDOG.remaining() is None
        peer.sendall(b"y")
        assert ours.recv(1) == b"y"


def test_each_exchange_keeps_its_own_deadline() -> None:
    """A short deadline in one thread does not cut a longer one in another."""
    results: dict[str, bool] = {}

    def exchange(name: str, seconds: float, wait: float) -> None:
        ours, peer = socket.socketpair()
        with ours, peer, WATCHDOG.watch(seconds) as watch:
            WATCHDOG.register(ours)
            ours.settimeout(wait)
            with contextlib.suppress(TimeoutError):
                ours.recv(1)
        results[name] = watch.expired

    short = threading.Thread(target=exchange, args=("short", 0.1, 5.0))
    long = threading.Thread(target=exchange, args=("long", 30.0, 0.5))
    short.start()
    long.start()
    short.join(10)
    long.join(10)
    assert results == {"short": True, "long": False}
