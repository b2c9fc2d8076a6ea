"""The plain-ASGI plumbing the three sandbox registries share.

A framework would add little here and cost speed: each registry answers a
handful of fixed routes. This module reads bodies under a size limit, echoes
``X-Request-ID``, applies the configured faults around every operation, and
streams large bodies without holding them in memory. It never logs a personal
identifier: log lines name the registry, the route kind and the outcome only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from adapters.sandbox.faults import FaultInjector, Faults, HostileMode
from adapters.sandbox.population import Population

__all__ = ["Request", "Response", "SandboxApp", "laughs_doctype", "padded_stream"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SAFE_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_CHUNK = 1 << 20


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[bytes, bytes]
    body: bytes = b""


@dataclass(slots=True)
class Response:
    status: int
    content_type: str
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: A body too large to build at once: its length and a generator of its chunks.
    stream: tuple[int, Callable[[], Iterable[bytes]]] | None = None


class SandboxApp:
    """Base class of a registry: routing is the subclass's, the rest is here."""

    registry_id = "sandbox"
    max_body_bytes = 64 * 1024

    def __init__(self, population: Population, faults: Faults | None = None) -> None:
        self.population = population
        self.faults = faults or Faults()
        self._injector = FaultInjector(self.faults)
        #: Set when the sandbox stops, so that hanging requests end at once.
        self.stopping = False
        self.log = logging.getLogger(f"adapters.sandbox.{self.registry_id}")

    def set_faults(self, faults: Faults | None) -> None:
        """Misbehave differently from the next request on (a fault that clears, or flaps)."""
        faults = faults or Faults()
        self._injector = FaultInjector(faults)
        self.faults = faults

    # What a registry provides.

    def is_operation(self, request: Request) -> bool:
        """Whether faults apply: operations yes, WSDL and health checks no."""
        raise NotImplementedError

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def server_error(self) -> Response:
        raise NotImplementedError

    def too_large(self) -> Response:
        raise NotImplementedError

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        raise NotImplementedError

    # The ASGI entry point.

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"")
        if not _SAFE_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex.encode()
        request = Request(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
        )
        body = await _read_body(receive, headers, self.max_body_bytes)
        if body is None:
            response = self.too_large()
        else:
            request.body = body
            if self.is_operation(request):
                response = await self._with_faults(request)
            else:
                response = self.handle(request)
        self.log.debug("%s %s -> %d", self.registry_id, request.method, response.status)
        await _send(send, response, request_id)

    async def _with_faults(self, request: Request) -> Response:
        if not self.faults.active:
            return self.handle(request)
        if self.faults.latency_ms:
            await self._pause(self.faults.latency_ms / 1000)
        outcome = self._injector.decide()
        if outcome != "normal":
            self.log.info("%s injected fault: %s", self.registry_id, outcome)
        if outcome == "hang":
            await self._pause(self.faults.hang_seconds)
            return self.server_error()
        if outcome == "error":
            return self.server_error()
        normal = self.handle(request)
        if outcome == "malformed":
            return Response(200, normal.content_type, normal.body[: max(1, len(normal.body) // 2)])
        if outcome == "hostile":
            return self.hostile(self._injector.hostile, normal)
        return normal

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up as soon as the sandbox stops."""
        remaining = seconds
        while remaining > 0 and not self.stopping:
            step = min(0.05, remaining)
            await asyncio.sleep(step)
            remaining -= step


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes | None:
    """The request body, or None when it exceeds ``limit`` bytes."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: Response, request_id: bytes) -> None:
    length = response.stream[0] if response.stream else len(response.body)
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", str(length).encode()),
        (b"x-request-id", request_id),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.stream is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    for chunk in response.stream[1]():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def padded_stream(
    prefix: bytes, suffix: bytes, total: int
) -> tuple[int, Callable[[], Iterable[bytes]]]:
    """A body of about ``total`` bytes: prefix, filler letters, suffix."""
    filler = max(0, total - len(prefix) - len(suffix))
    block = b"A" * _CHUNK

    def chunks() -> Iterable[bytes]:
        yield prefix
        left = filler
        while left > 0:
            piece = block if left >= _CHUNK else block[:left]
            left -= len(piece)
            yield piece
        yield suffix

    return len(prefix) + filler + len(suffix), chunks


def laughs_doctype(root: bytes) -> bytes:
    """The "billion laughs" entity bomb: ``&lol9;`` expands to 10**9 "lol"s."""
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10))
    return b"<!DOCTYPE " + root + b" [" + b"".join(entities) + b"]>"
