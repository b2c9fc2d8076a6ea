"""Each sender keeps its deadline whatever the provider does, on real sockets.

The service holds a message's lease for a sender's deadline past the start
of its send; these show the deadline is one: a provider that answers a byte
at a time (so no read ever times out) or not at all is cut off at it, and
two worker threads sending through one sender do not queue behind each
other's sends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapters.notify_http import JsonGatewaySender
from adapters.notify_smtp import SmtpSender
from hub.errors import DeliveryError
from hub.notifications.models import Outgoing
from tests.common.peers import HostilePeer
from tests.integration.notifications.conftest import Providers

DEADLINE = 1.0


def _message(key: str = "m1", to: str = "alice@example.gr") -> Outgoing:
    return Outgoing(key=key, channel="email", to=to, subject="s", text="t", html=None)


def _timed(send: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        send()
    except DeliveryError as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("mode", ["dribble-headers", "endless-body", "silent"])
def test_a_gateway_that_never_finishes_is_cut_off_at_the_deadline(mode: str) -> None:
    with HostilePeer(mode, interval=0.2) as peer:  # type: ignore[arg-type]
        sender = JsonGatewaySender(
            "sms", peer.url + "/v1/messages", token="t", sender="GOV", timeout=DEADLINE
        )
        error, elapsed = _timed(lambda: sender.send(_message(to="+306912345678")))
        sender.close()
    assert error is not None
    assert "did not answer within 1 s" in str(error)
    assert not error.permanent  # type: ignore[attr-defined]
    assert elapsed < DEADLINE + 0.8, elapsed


@pytest.fixture
def dribbling_smtp() -> Iterator[int]:
    """An SMTP server whose greeting comes a byte every 0.2 s and never ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                while not stop.is_set():
                    try:
                        conn.sendall(b"2")
                    except OSError:
                        break
                    stop.wait(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_an_smtp_server_that_dribbles_is_cut_off_at_the_deadline(dribbling_smtp: int) -> None:
    # A byte every 0.2 s: a 1 s socket timeout alone would wait for ever.
    sender = SmtpSender("127.0.0.1", dribbling_smtp, sender="hub@x.gr", timeout=DEADLINE)
    error, elapsed = _timed(lambda: sender.send(_message()))
    sender.close()
    assert error is not None
    assert "did not answer within 1 s" in str(error)
    assert elapsed < DEADLINE + 0.8, elapsed


def test_a_slow_answer_on_a_kept_connection_is_cut_off_too(providers: Providers) -> None:
    sender = SmtpSender("127.0.0.1", providers.smtp_port, sender="hub@x.gr", timeout=DEADLINE)
    sender.send(_message("first"))  # Opens the connection the next send reuses.
    providers.mail.hold = 3.0
    error, elapsed = _timed(lambda: sender.send(_message("second")))
    assert error is not None
    assert elapsed < DEADLINE + 0.8, elapsed
    # The cut connection is not reused: the next send opens a new one.
    providers.mail.hold = 0.0
    sender.send(_message("third"))
    sender.close()
    assert set(providers.box.hits().values()) == {1}


def test_worker_threads_sharing_an_smtp_sender_do_not_wait_for_each_other(
    providers: Providers,
) -> None:
    providers.mail.hold = 1.0
    sender = SmtpSender("127.0.0.1", providers.smtp_port, sender="hub@x.gr", timeout=5)
    done: list[float] = []
    started = time.monotonic()

    def send(key: str) -> None:
        sender.send(_message(key))
        done.append(time.monotonic() - started)

    threads = [threading.Thread(target=send, args=(f"k{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    sender.close()
    assert len(done) == 2
    # Each send takes the server's one second; one after the other would be two.
    assert max(done) < 1.8, done
    assert providers.box.count() == 2


def test_a_gateway_answer_larger_than_a_message_id_is_refused_unread() -> None:
    # A fast gateway that answers 4 MiB: the sender stops reading at its cap
    # instead of holding the whole answer in memory.
    class Huge(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(4 * 1024 * 1024 + 10))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(b'{"id": "' + b"x" * (4 * 1024 * 1024) + b'"}')

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
        sender = JsonGatewaySender("sms", url, token="t", sender="GOV", timeout=5.0)
        with pytest.raises(DeliveryError, match="oversized answer"):
            sender.send(_message(to="+306912345678"))
        sender.close()
    finally:
        server.shutdown()
        server.server_close()
