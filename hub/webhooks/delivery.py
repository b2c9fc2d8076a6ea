"""One HTTP POST to a webhook endpoint, with a hard deadline and a bounded read.

A receiver may be slow, hang, trickle its answer byte by byte or answer
with gigabytes; none of that may hold a delivery worker for long. So the
whole attempt (connect, TLS, request, headers, body) runs under one
deadline enforced by a timer that shuts the socket down when it passes, and
at most :data:`MAX_RESPONSE_BYTES` of the answer are read (only its status
matters). The connection goes to exactly the address the URL policy checked
(the ``Host`` header and TLS server name stay the URL's host), so a DNS
answer that changes between the check and the connect cannot redirect it.
Redirects are not followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from hub.webhooks.policy import Target

__all__ = ["MAX_RESPONSE_BYTES", "DeliveryError", "HttpSender", "Sent"]

#: How much of a receiver's answer is read before the connection is dropped.
MAX_RESPONSE_BYTES: Final = 64 * 1024
_CHUNK: Final = 8192


class DeliveryError(Exception):
    """An attempt that got no usable answer; ``code`` is what the delivery log shows."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Sent:
    """What the receiver answered and how long the attempt took."""

    status: int
    duration_ms: int


class _Pinned(http.client.HTTPConnection):
    """Plain HTTP to a checked address, with the URL's host in ``Host``."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTls(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate must name the URL's host."""

    def __init__(
        self, target: Target, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


class HttpSender:
    """Sends one signed event; :meth:`send` raises :class:`DeliveryError` or returns."""

    def __init__(self, *, deadline: float, context: ssl.SSLContext | None = None) -> None:
        self.deadline = deadline
        self.context = context or ssl.create_default_context()

    def send(self, target: Target, headers: Mapping[str, str], body: bytes) -> Sent:
        started = time.monotonic()
        address = target.addresses[0]
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedTls(target, address, self.deadline, self.context)
        else:
            connection = _Pinned(target, address, self.deadline)
        expired = threading.Event()

        def cut() -> None:
            # Shutting the socket down wakes a blocked read at once.
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(self.deadline, cut)
        timer.daemon = True
        timer.start()
        try:
            status = self._exchange(connection, target, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError | socket.timeout):
                raise DeliveryError("timeout") from exc
            if isinstance(exc, ssl.SSLError | ssl.CertificateError):
                raise DeliveryError("tls-error") from exc
            if isinstance(exc, ConnectionRefusedError):
                raise DeliveryError("connection-refused") from exc
            if isinstance(exc, http.client.HTTPException):
                raise DeliveryError("bad-response") from exc
            raise DeliveryError("connection-error") from exc
        finally:
            timer.cancel()
            connection.close()
        if expired.is_set():
            raise DeliveryError("timeout")
        return Sent(status=status, duration_ms=int((time.monotonic() - started) * 1000))

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection,
        target: Target,
        headers: Mapping[str, str],
        body: bytes,
    ) -> int:
        request_headers = {
            **headers,
            "Content-Type": "application/json",
            "User-Agent": "oncehub-webhooks/1",
        }
        connection.request("POST", target.path, body=body, headers=request_headers)
        response = connection.getresponse()
        read = 0
        while read <= MAX_RESPONSE_BYTES:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            read += len(chunk)
        return response.status
