"""The server's own defences, against a real ``hub serve`` process and real sockets.

* Slow-loris: connections that never finish their request headers — silent,
  dribbling a header byte at a time, or dribbling a second request on a kept-
  alive connection — are closed once ``HUB_HEADER_TIMEOUT`` passes, while
  ``/healthz`` keeps answering under a second. A request that completes its
  headers in time is served.
* ``HUB_MAX_CONNECTIONS``: beyond it the hub answers 503 at once instead of
  hanging, and serves again once the idle connections are cut.
* Forwarded headers: with no ``HUB_TRUSTED_PROXIES`` a client rotating
  ``X-Forwarded-For`` is still counted by its own address by the
  verification rate limit; with the proxy listed, the forwarded address is
  the client's (each address has its own window, one address is limited).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hub.config import Settings
from tests.common.hubs import HealthMonitor
from tests.security._process import ConfiguredHub, hub_process

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 2.0
#: How long after the deadline a connection may still be open: the timer
#: fires on the event loop, so a little slack, far below "indefinitely".
SLACK = 2.5
SLOW_CLIENTS = 60


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _closed(sock: socket.socket) -> bool:
    """Whether the peer closed ``sock`` (readable with no data, or reset)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except OSError:
        return True


def _watch_until_closed(
    socks: list[socket.socket], dribble: bytes | None, limit: float
) -> dict[int, float]:
    """Keep dribbling on each open socket; when each was closed, from now."""
    started = time.monotonic()
    closed: dict[int, float] = {}
    while len(closed) < len(socks) and time.monotonic() - started < limit:
        for index, sock in enumerate(socks):
            if index in closed:
                continue
            if _closed(sock):
                closed[index] = time.monotonic() - started
                continue
            if dribble is not None:
                try:
                    sock.send(dribble)
                except OSError:
                    closed[index] = time.monotonic() - started
        time.sleep(0.25)
    return closed


@pytest.fixture
def hub(tmp_path: Path, settings: Settings) -> Iterator[ConfiguredHub]:
    extra = {"HUB_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "HUB_VERIFY_RATE_LIMIT": "3"}
    with hub_process(tmp_path, settings, extra) as process:
        yield process


@pytest.mark.parametrize(
    "opening",
    [b"", b"GET /healthz HTTP/1.1\r\nHost: hub\r\n", b"GET /healthz HTTP/1.1\r\nHost: hub"],
    ids=["silent", "dribbling-headers", "dribbling-one-header"],
)
def test_slow_header_connections_are_closed_and_the_hub_keeps_serving(
    hub: ConfiguredHub, opening: bytes
) -> None:
    socks = [_connect(hub.url) for _ in range(SLOW_CLIENTS)]
    try:
        for sock in socks:
            if opening:
                sock.send(opening)
        with HealthMonitor(hub.url) as health:
            closed = _watch_until_closed(
                socks, b"X" if opening else None, HEADER_TIMEOUT + SLACK + 5
            )
    finally:
        for sock in socks:
            sock.close()
    print(  # The measurement docs/operating.md quotes.
        f"{SLOW_CLIENTS} slow clients closed after {min(closed.values(), default=0):.2f}"
        f"-{max(closed.values(), default=0):.2f} s; healthz max {max(health.latencies):.3f} s"
    )
    assert len(closed) == SLOW_CLIENTS, f"{SLOW_CLIENTS - len(closed)} connections still open"
    assert max(closed.values()) <= HEADER_TIMEOUT + SLACK, max(closed.values())
    assert not health.failures, health.failures
    assert health.latencies
    assert max(health.latencies) < 1.0, max(health.latencies)


def test_a_kept_alive_connection_cannot_dribble_its_next_request(hub: ConfiguredHub) -> None:
    sock = _connect(hub.url)
    try:
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
        first = sock.recv(4096)
        assert first.startswith(b"HTTP/1.1 200"), first[:80]
        sock.send(b"GET /healthz HTTP/1.1\r\n")
        closed = _watch_until_closed([sock], b"X", HEADER_TIMEOUT + SLACK + 5)
    finally:
        sock.close()
    assert 0 in closed, closed
    assert closed[0] <= HEADER_TIMEOUT + SLACK, closed


def test_headers_that_finish_in_time_are_served(hub: ConfiguredHub) -> None:
    sock = _connect(hub.url)
    try:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: hub\r\n", b"Accept: */*\r\n", b"\r\n"):
            sock.send(piece)
            time.sleep(HEADER_TIMEOUT / 8)
        answer = sock.recv(4096)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]


def test_connections_beyond_the_limit_get_503_not_a_hang(
    tmp_path: Path, settings: Settings
) -> None:
    extra = {"HUB_HEADER_TIMEOUT": "3", "HUB_MAX_CONNECTIONS": "20"}
    with hub_process(tmp_path, settings, extra) as hub:
        idle = [_connect(hub.url) for _ in range(25)]
        try:
            time.sleep(0.3)
            started = time.monotonic()
            refused = requests.get(f"{hub.url}/healthz", timeout=5)
            assert refused.status_code == 503
            assert time.monotonic() - started < 1.0
            # The header deadline frees the slots the idle connections held.
            _watch_until_closed(idle, None, 3 + SLACK + 5)
        finally:
            for sock in idle:
                sock.close()
        assert requests.get(f"{hub.url}/healthz", timeout=5).status_code == 200


# -- forwarded headers ----------------------------------------------------------------------------


def _verify_code(url: str, forwarded: str) -> int:
    response = requests.get(
        f"{url}/v1/verify/ABCD-EFGH-JKLM", headers={"X-Forwarded-For": forwarded}, timeout=10
    )
    return response.status_code


def test_rotating_x_forwarded_for_does_not_escape_the_rate_limit(hub: ConfiguredHub) -> None:
    statuses = [_verify_code(hub.url, f"203.0.113.{i}") for i in range(1, 6)]
    assert statuses[:3] == [200, 200, 200], statuses
    assert statuses[3:] == [429, 429], statuses


def test_a_trusted_proxy_s_forwarded_address_is_the_client_s(
    tmp_path: Path, settings: Settings
) -> None:
    extra = {"HUB_VERIFY_RATE_LIMIT": "3", "HUB_TRUSTED_PROXIES": "127.0.0.1"}
    with hub_process(tmp_path, settings, extra) as hub:
        # Each forwarded client has its own window...
        rotating = [_verify_code(hub.url, f"203.0.113.{i}") for i in range(1, 7)]
        assert rotating == [200] * 6, rotating
        # ...and one forwarded client is limited on its own.
        same = [_verify_code(hub.url, "198.51.100.7") for _ in range(4)]
        assert same == [200, 200, 200, 429], same


def test_the_socket_helper_tells_open_from_closed() -> None:
    # The tests above count on it: an open socket is not seen as closed, a closed one is.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
    thread.start()
    client = _connect(f"http://127.0.0.1:{port}")
    thread.join(5)
    assert not _closed(client)
    accepted[0].close()
    time.sleep(0.1)
    assert _closed(client)
    client.close()
    server.close()


def test_the_server_settings_are_read_checked_and_applied() -> None:
    from hub.cli._http import HeaderDeadline, server_config  # noqa: PLC0415
    from hub.errors import ConfigError  # noqa: PLC0415

    env = {
        "HUB_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16",
        "HUB_HEADER_TIMEOUT": "4.5",
        "HUB_MAX_CONNECTIONS": "50",
        "HUB_KEEP_ALIVE_TIMEOUT": "3",
    }
    settings = Settings.from_env(env)
    assert settings.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    config = server_config(object(), settings)
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == ["10.0.0.1", "10.1.0.0/16"]
    assert config.limit_concurrency == 50
    assert config.timeout_keep_alive == 3
    assert isinstance(config.http, type)
    assert issubclass(config.http, HeaderDeadline)
    assert config.http.header_timeout == 4.5
    # By default nobody's forwarded headers are believed, loopback's neither.
    default = server_config(object(), Settings.from_env({}))
    assert default.proxy_headers is False
    assert default.forwarded_allow_ips == []
    for bad in (
        {"HUB_TRUSTED_PROXIES": "proxy.example"},
        {"HUB_HEADER_TIMEOUT": "0"},
        {"HUB_MAX_CONNECTIONS": "0"},
        {"HUB_CERTIFICATE_WORKERS": "0"},
        {"HUB_CERTIFICATE_RATE_LIMIT": "0"},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)
