"""A registry that misbehaves on a real socket, for the hub to be attacked with.

``HostilePeer`` listens on 127.0.0.1 (plain TCP, or TLS with a self-signed
certificate from :func:`tests.common.tls.self_signed`) and treats every connection as its
current :attr:`HostilePeer.mode` says:

* ``proxy``: a well-behaved registry: bytes are relayed both ways to
  ``upstream`` (a real sandbox registry), so the same peer can be healthy;
* ``dribble-headers``: ``HTTP/1.1 200 OK`` and then one header byte every
  ``interval`` seconds, for ever;
* ``silent``: accepts the connection, reads the request, never answers;
* ``endless-body``: a 200 with a chunked JSON body whose chunks keep coming,
  a few bytes every ``interval`` seconds, never ending;
* ``reset-mid-body``: promises a body, sends part of it, then resets the
  connection (RST, not FIN);
* ``slow-tls`` (TLS peers only): answers the TLS handshake one byte every
  ``interval`` seconds.

An ``interval`` under any sane read timeout is the point: each read gets a
byte in time, only a deadline over the whole exchange stops it. The server
runs an asyncio loop in a daemon thread, so thousands of stuck connections
cost nothing, and closes every connection when it stops.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading
from contextlib import suppress
from pathlib import Path
from typing import Literal

__all__ = ["MODES", "HostilePeer", "Mode"]

Mode = Literal["proxy", "dribble-headers", "silent", "endless-body", "reset-mid-body", "slow-tls"]
MODES: tuple[Mode, ...] = (
    "proxy",
    "dribble-headers",
    "silent",
    "endless-body",
    "reset-mid-body",
    "slow-tls",
)


class HostilePeer:
    """A misbehaving HTTP(S) server on an ephemeral loopback port; a context manager."""

    def __init__(
        self,
        mode: Mode,
        *,
        upstream: str | None = None,
        interval: float = 0.5,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.mode: Mode = mode
        self.interval = interval
        self._upstream = _host_port(upstream) if upstream else None
        self._context: ssl.SSLContext | None = None
        if tls is not None:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(*tls)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-peer", daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        #: Connections accepted so far, whatever the mode.
        self.connections = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def set_mode(self, mode: Mode) -> None:
        """Behave as ``mode`` from now on, on fresh connections only.

        Open connections are dropped, so that a kept-alive connection from
        the hub's pool cannot carry on in the previous mode.
        """
        self.mode = mode
        asyncio.run_coroutine_threadsafe(self._drop_connections(), self._loop).result(10)

    async def _drop_connections(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> HostilePeer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile peer did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._drop_connections()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # The hub gave up on us: that is what is being tested.
        except asyncio.CancelledError:
            # Dropped by set_mode or stop. Ending normally keeps asyncio's
            # stream machinery from logging the cancelled task as an error.
            pass
        finally:
            self._tasks.discard(task)
            with suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if self._context is not None:
            if mode == "slow-tls":
                await self._slow_handshake(reader, writer)
                return
            await writer.start_tls(self._context)
        if mode == "proxy":
            await self._relay(reader, writer)
            return
        # Every other mode misbehaves after a complete request head.
        await reader.readuntil(b"\r\n\r\n")
        if mode == "silent":
            await reader.read()  # Until the hub hangs up.
        elif mode == "dribble-headers":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            await writer.drain()
            for byte in b"X-Slow: " + b"a" * 1_000_000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.interval)
        elif mode == "endless-body":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n5\r\n[0, 0\r\n"
            )
            while True:
                writer.write(b"3\r\n,0 \r\n")
                await writer.drain()
                await asyncio.sleep(self.interval)
        elif mode == "reset-mid-body":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000\r\n\r\n[" + b"0," * 100
            )
            await writer.drain()
            await asyncio.sleep(0.05)
            sock = writer.get_extra_info("socket")
            # Linger 0: close() sends an RST instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    async def _slow_handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """A real TLS handshake whose server bytes leave one at a time."""
        assert self._context is not None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self._context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            with suppress(ssl.SSLWantReadError):
                tls.do_handshake()
            for byte in outgoing.read():
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.interval)
            data = await reader.read(65536)
            if not data:
                return
            incoming.write(data)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._upstream is not None, "proxy mode needs an upstream"
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                with suppress(Exception):
                    sink.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()


def _host_port(url: str) -> tuple[str, int]:
    rest = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    return host, int(port)
