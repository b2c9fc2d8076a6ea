"""The outermost layer of every request: id, limits, metrics, one log line.

It runs before connexion so that it sees everything, including unknown
routes: it mints the request id (a client's is only echoed), refuses bodies over
the configured limit and JSON nested deeper than the parsers survive, hands
the app's services to the handlers through the ASGI scope, marks every
answer ``Cache-Control: no-store`` unless its handler chose a cache policy
(answers carry personal data and tokens; only a few public documents may be
cached, and they say so), counts the request for ``/metrics`` and writes
exactly one structured log line per request (uvicorn's own access log is
off: it logs paths, which may carry identifiers, and halves throughput).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api._context import CLIENT_REQUEST_ID, STATE_KEY
from hub.api.problems import PROBLEM_JSON, problem_body, problem_language
from hub.errors import HubError, NestingTooDeep, PayloadTooLarge, ValidationFailed
from hub.json_depth import MAX_DEPTH, too_deep
from hub.logs import REQUEST_ID

if TYPE_CHECKING:
    from hub.services import Services

__all__ = ["HubMiddleware"]

log = logging.getLogger("hub.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _declares_json(scope: Scope) -> bool:
    """Whether the request's body is JSON (``application/json`` or any ``+json``)."""
    kind = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _no_store_by_default(send: Send) -> Send:
    """``send`` that adds ``Cache-Control: no-store`` to answers without a cache policy."""

    async def send_no_store(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"cache-control" for name, _ in headers):
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
        await send(message)

    return send_no_store


#: Bodies larger than this are measured off the event loop (a pass over a
#: megabyte of brackets takes a few hundred milliseconds at worst).
_DEPTH_INLINE_BYTES = 65_536


async def _read_body(receive: Receive) -> bytes:
    """The whole request body, however many messages it came in."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ValidationFailed("The request body did not arrive.")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands on ``body`` once, then whatever ``receive`` brings."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _depth_checked(receive: Receive) -> tuple[Receive, bool]:
    """Read a JSON body (already bounded by size), measure its nesting, replay it.

    Returns the receive callable that hands the same body on, and whether
    the body nests deeper than :data:`MAX_DEPTH`.
    """
    body = await _read_body(receive)
    if len(body) > _DEPTH_INLINE_BYTES:
        deep = await run_in_threadpool(too_deep, body)
    else:
        deep = too_deep(body)
    return _replaying(body, receive), deep


def _route(scope: Scope) -> str:
    routing = scope.get("extensions", {}).get("connexion_routing", {})
    operation = routing.get("operation_id")
    if operation:
        return str(operation)
    path = str(scope.get("path", ""))
    if path.startswith("/ui"):
        return "swagger-ui"
    return "openapi" if path.startswith("/openapi") else "unmatched"


class HubMiddleware:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.max_body = services.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                scope.setdefault("state", {})[STATE_KEY] = self.services
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})[STATE_KEY] = self.services
        # Connexion records the matched operation in this dict; creating it here
        # lets the metrics label requests by operation rather than by raw path.
        scope.setdefault("extensions", {})
        # The hub's own id is always the request id; a client's (any agency may
        # send any id, even another's) is kept apart and echoed in
        # X-Client-Request-ID.
        incoming = _header(scope, b"x-request-id")
        client_request_id = incoming if incoming and _REQUEST_ID.match(incoming) else None
        request_id = uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        client_token = CLIENT_REQUEST_ID.set(client_request_id)
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = [
                    h
                    for h in message.get("headers", [])
                    if h[0] not in (b"x-request-id", b"x-client-request-id")
                ]
                headers.append((b"x-request-id", request_id.encode()))
                if client_request_id is not None:
                    headers.append((b"x-client-request-id", client_request_id.encode()))
                message["headers"] = headers
            await send(message)

        reply = _no_store_by_default(send_wrapper)
        try:
            checked = await self._checked_body(scope, receive, reply)
            if checked is not None:
                await self.app(*checked, reply)
        except Exception as exc:
            # Connexion's exception middleware handles errors inside the app;
            # this catches only what escapes it, so the client still gets a
            # problem document rather than a dropped connection.
            if not status_holder["started"]:
                error = exc if isinstance(exc, HubError) else HubError()
                await self._problem(reply, error, scope)
            log.error("request escaped the app", extra={"error": exc.__class__.__name__})
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            status = int(status_holder["status"])
            self.services.metrics.observe(scope["method"], route, status, elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)
            CLIENT_REQUEST_ID.reset(client_token)

    async def _checked_body(
        self, scope: Scope, receive: Receive, reply: Send
    ) -> tuple[Scope, Receive] | None:
        """The request with its body bounded in size and depth; None once refused."""
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._problem(reply, PayloadTooLarge(self._too_large()), scope)
            return None
        if length is None and "chunked" in (_header(scope, b"transfer-encoding") or ""):
            scope, receive = await self._unchunked(scope, receive)
        else:
            receive = self._bounded(receive)
        if _declares_json(scope):
            receive, deep = await _depth_checked(receive)
            if deep:
                deep_error = NestingTooDeep(f"JSON bodies may nest at most {MAX_DEPTH} levels.")
                await self._problem(reply, deep_error, scope)
                return None
        return scope, receive

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body} bytes."

    async def _unchunked(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """Read a chunked body (bounded) and present it with a Content-Length.

        The framework reads a body only when its length is declared, so a
        client that streams an upload in chunks would otherwise be answered
        as if it had sent nothing.
        """
        body = await _read_body(self._bounded(receive))
        headers = [
            (name, value)
            for name, value in scope.get("headers", [])
            if name.lower() not in (b"transfer-encoding", b"content-length")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": headers}, _replaying(body, receive)

    def _bounded(self, receive: Receive) -> Receive:
        """Count body bytes as they arrive; stop a body over the limit."""
        seen = 0
        limit = self.max_body

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(self._too_large())
            return message

        return bounded_receive

    @staticmethod
    async def _problem(send: Send, error: HubError, scope: Scope) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept-language", b"")
        language = problem_language(accept.decode("latin-1"))
        body = problem_body(error, str(scope.get("path", "")), language)
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"content-language", language.encode()),
                    (b"vary", b"Accept-Language"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
