"""The hub with a no-op evidence service: the floor of the evidence endpoint.

``python -m bench._floor_hub [--no-response-validation] serve`` serves the
hub's own app (``hub.app.create_app``: the same OpenAPI document, security
scheme and bearer function, request and response validation, middleware and
uvicorn configuration as ``python -m hub serve``), taking its settings from
the environment as the hub does, with one difference: the evidence service
answers every request with the answer it got for the first one. The first
request goes through the real service (registry call, access log, seal), so
the canned answer is a real, valid evidence answer; every later request
costs what the web stack, connexion's validation, the security check and
the handler's parsing and shaping cost, and nothing of the evidence itself.

With ``--no-response-validation`` connexion is told not to validate the
answers (only in this bench process, for one ``create_app``), to show what
that validation costs; the hub itself always validates them.

``--registry`` adds one real registry call to every canned request, the
call the first request made (same registry, operation and envelope), so
that ways of doing registry I/O can be weighed in the server:

* ``thread``: by the hub's own client (``requests``, the watchdog,
  resilience), in the worker thread that runs the synchronous handler, as
  the hub does today;
* ``requests``: in the same worker thread, by a plain ``requests.Session``
  (no watchdog, no resilience, no prepared request), the reply read by the
  client's own reader;
* ``plain``: in the same worker thread, by ``http.client`` on a kept-alive
  connection of the thread's own, the reply read by the client's own reader
  (no ``requests``, no urllib3, no watchdog, no resilience);
* ``loop``: by aiohttp on the event loop, from an asynchronous handler, with
  no worker thread: the same envelope posted on one kept-alive connection
  pool and the reply read by the client's own reader. The synchronous
  handler then runs inline on the loop (it only returns the canned answer).

Nothing here changes the hub: the stand-in is put into a copy of the
:class:`~hub.services.Services` the hub builds.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, cast

import requests
import uvicorn
from connexion import AsyncApp

import hub.api.evidence as evidence_api
from adapters.rest import fill, pointer
from bench.evidence import REGISTRY_IO
from hub.api import operations
from hub.api._context import services
from hub.app import HubApp, build_services, create_app
from hub.cli._http import server_config
from hub.config import Settings
from hub.logs import configure_logging
from hub.services import Services

__all__ = [
    "REGISTRY_VARIANTS",
    "CannedEvidence",
    "FirstCall",
    "LoopRegistry",
    "PlainRegistry",
    "SessionRegistry",
    "floor_app",
    "main",
    "registry_on_loop",
]

_EVIDENCE_OPERATION = "requestEvidence"
#: ``--registry``: no call, or one of the ways of :data:`bench.evidence.REGISTRY_IO` (see above).
REGISTRY_VARIANTS = ("none", *REGISTRY_IO)


class CannedEvidence:
    """Evidence that answers every request with the first real answer.

    ``answer`` may be given up front (tests); otherwise the first request is
    passed to ``real`` and its answer kept.
    """

    def __init__(self, real: Any, answer: Any = None) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.answer = answer
        self.real_calls = 0
        #: Made on every canned request in the handler's thread (all but ``loop``).
        self.each: Callable[[str], object] | None = None
        #: Made on every canned request, on the event loop (``loop``).
        self.on_loop: LoopRegistry | None = None
        #: What ``each`` or ``on_loop`` read from the registry last.
        self.last_reply: object = None
        #: The registry call repeated, with the first request's answer to it.
        self.first: FirstCall | None = None
        #: Called by :meth:`close` (the connections of ``requests`` and ``plain``).
        self.closers: list[Callable[[], None]] = []

    def close(self) -> None:
        """Close what the registry variant opened in the handlers' threads."""
        for close in self.closers:
            close()

    def request(self, principal: Any, request: Any, request_id: str | None = None) -> Any:
        if self.answer is None:
            with self._lock:
                if self.answer is None:
                    self.real_calls += 1
                    self.answer = self._real.request(principal, request, request_id)
                    return self.answer
        if self.each is not None:
            self.last_reply = self.each(request_id or "floor")
        return self.answer


class FirstCall:
    """Keeps the first registry call a client makes, and its answer, to repeat it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen: tuple[str, Any] | None = None
        self.answer: object = None
        self._exchange: tuple[str, bytes, dict[str, str], Any] | None = None
        self._call = client.call
        client.call = self._record

    def _record(self, operation: str, params: Any, *, request_id: str) -> Any:
        answer = self._call(operation, params, request_id=request_id)
        if self.seen is None:
            self.seen, self.answer = (operation, params), answer
        return answer

    def repeat(self, request_id: str) -> object:
        """The same call again, by the hub's client (``thread``)."""
        if self.seen is None:
            raise RuntimeError("no registry call seen yet")
        return self._call(*self.seen, request_id=request_id)

    def exchange(self) -> tuple[str, bytes, dict[str, str], Any]:
        """Endpoint, envelope bytes, headers and reply reader of the call seen.

        The envelope is the one the client's ``call`` sends for it: the
        operation's parameters filled in as the catalogue says. Built once.
        """
        if self._exchange is not None:
            return self._exchange
        if self.seen is None:
            raise RuntimeError("no registry call seen yet")
        operation, params = self.seen
        client = self.client
        spec = client.operations.get(operation, {})
        name = str(spec.get("operation", operation))
        arguments = fill(spec["input"], params) if "input" in spec else params
        # The hub's own envelope template and reply reader for the operation.
        built = client._envelope(name, arguments)
        reader = client._reader(name)
        if built is None or reader is None:
            raise RuntimeError("the registry call has no envelope template or reply reader")
        self._exchange = client.endpoint, built.fill(arguments), dict(built.headers), reader
        return self._exchange

    def shaped(self, reply: object) -> object:
        """A reply read by the reader, shaped as the client's ``call`` shapes it."""
        if self.seen is None:
            raise RuntimeError("no registry call seen yet")
        shape = self.client.operations.get(self.seen[0], {}).get("answer")
        if not shape:
            return reply
        return {str(key): pointer(reply, str(path)) for key, path in shape.items()}


class PlainRegistry:
    """The call seen by :class:`FirstCall`, by ``http.client`` in the calling thread."""

    def __init__(self, first: FirstCall) -> None:
        self._first = first
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def close(self) -> None:
        """Close every thread's connection."""
        for connection in self._opened:
            connection.close()

    def call(self, _request_id: str) -> object:
        endpoint, data, headers, reader = self._first.exchange()
        address = urllib.parse.urlsplit(endpoint)
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(address.netloc, timeout=5)
            self._local.connection = connection
            self._opened.append(connection)
        connection.request("POST", address.path, body=data, headers=headers)
        return self._first.shaped(reader.read(connection.getresponse().read()))


class SessionRegistry:
    """The call seen by :class:`FirstCall`, by a plain ``requests.Session`` in the calling thread.

    One session for all threads, as the hub keeps one per registry; no
    watchdog, no resilience, no prepared request: ``requests`` used plainly.
    """

    def __init__(self, first: FirstCall) -> None:
        self._first = first
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def call(self, _request_id: str) -> object:
        endpoint, data, headers, reader = self._first.exchange()
        response = self._session.post(endpoint, data=data, headers=headers, timeout=5)
        return self._first.shaped(reader.read(response.content))


class LoopRegistry:
    """The call seen by :class:`FirstCall`, by aiohttp on the running event loop."""

    def __init__(self, first: FirstCall) -> None:
        self._first = first
        self._session: Any = None

    async def call(self) -> object:
        import aiohttp  # noqa: PLC0415 - only this variant needs it

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=5)
            )
        endpoint, data, headers, reader = self._first.exchange()
        async with self._session.post(endpoint, data=data, headers=headers) as response:
            body = await response.read()
        return self._first.shaped(reader.read(body))

    async def aclose(self) -> None:
        """Close the connection pool, on the loop that opened it."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class _ClosingOnShutdown:
    """An ASGI app that closes the loop's registry pool when the server shuts down."""

    def __init__(self, app: HubApp, registry: LoopRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched() -> Any:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                await self.registry.aclose()
            return message

        await self.app(scope, watched, send)


def _population(services: Services) -> Any:
    registries = services.evidence.registries
    return registries.get("population") or next(iter(registries.values()))


async def _evidence_on_loop(body: dict[str, Any]) -> Any:
    """The evidence handler, asynchronous: the loop's registry call, then the canned answer.

    The synchronous handler runs inline on the loop: after the first
    request it only returns the canned answer.
    """
    canned: Any = services().evidence
    if isinstance(canned, CannedEvidence) and canned.on_loop and canned.answer is not None:
        canned.last_reply = await canned.on_loop.call()
    return evidence_api.request_evidence(body)


@contextlib.contextmanager
def registry_on_loop() -> Iterator[None]:
    """While an app starts inside: its evidence operation is :func:`_evidence_on_loop`.

    Connexion resolves operations when an app first starts, not in
    ``create_app``; an app started meanwhile keeps the asynchronous handler.
    """
    table = cast(dict[str, Callable[..., Any]], operations.HANDLERS)
    original = table[_EVIDENCE_OPERATION]
    table[_EVIDENCE_OPERATION] = _evidence_on_loop
    try:
        yield
    finally:
        table[_EVIDENCE_OPERATION] = original


@contextlib.contextmanager
def _responses_unvalidated() -> Iterator[None]:
    """For the duration: every ``AsyncApp.add_api`` is told not to validate responses."""
    own = AsyncApp.__dict__.get("add_api")  # None: inherited from connexion's AbstractApp
    original = AsyncApp.add_api

    def add_api(self: AsyncApp, *args: Any, **kwargs: Any) -> Any:
        kwargs["validate_responses"] = False
        return original(self, *args, **kwargs)

    AsyncApp.add_api = add_api
    try:
        yield
    finally:
        if own is None:
            del AsyncApp.add_api
        else:
            AsyncApp.add_api = own


def floor_app(
    services: Services, *, validate_responses: bool = True, registry: str = "none"
) -> tuple[HubApp | _ClosingOnShutdown, CannedEvidence]:
    """The hub's app over ``services`` with the evidence service canned.

    ``registry`` is ``none``, ``thread``, ``requests``, ``plain`` or ``loop`` (see the
    module's text); ``loop`` needs the app started under :func:`registry_on_loop`.
    """
    canned = CannedEvidence(services.evidence)
    if registry != "none":
        first = canned.first = FirstCall(_population(services))
        if registry == "thread":
            canned.each = first.repeat
        elif registry in {"requests", "plain"}:
            made = SessionRegistry(first) if registry == "requests" else PlainRegistry(first)
            canned.each = made.call
            canned.closers.append(made.close)
        else:
            canned.on_loop = LoopRegistry(first)
    floored = dataclasses.replace(services, evidence=canned)  # type: ignore[arg-type]
    with contextlib.nullcontext() if validate_responses else _responses_unvalidated():
        app = create_app(services=floored)
    if canned.on_loop is not None:
        return _ClosingOnShutdown(app, canned.on_loop), canned
    return app, canned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._floor_hub")
    parser.add_argument("--no-response-validation", action="store_true")
    parser.add_argument("--registry", choices=REGISTRY_VARIANTS, default="none")
    parser.add_argument("command", choices=["serve"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    services = build_services(settings)
    try:
        app, canned = floor_app(
            services, validate_responses=not args.no_response_validation, registry=args.registry
        )
        try:
            with registry_on_loop() if args.registry == "loop" else contextlib.nullcontext():
                uvicorn.Server(server_config(app, settings)).run()
        finally:
            canned.close()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
