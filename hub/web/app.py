"""``create_pages(services)``: the pages as one Starlette application.

The hub's API is connexion's; people use these pages. :class:`PageRouter`
sends the page prefixes here and everything else to the API, and
:class:`PageErrors` makes sure that a person never sees a JSON problem
document or a traceback where they expected a page. Handlers call the
same domain services as the API handlers, never the API over HTTP.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import HubError, MethodNotAllowed, NotFound, PayloadTooLarge
from hub.web import audit, cases, citizen, home, notifications, signin, verify
from hub.web._frame import Frame, SignInNeeded

if TYPE_CHECKING:
    from hub.services import Services

__all__ = ["PAGE_PREFIXES", "PageErrors", "PageRouter", "create_pages", "is_page_path"]

log = logging.getLogger("hub.web")

#: The paths the pages own; everything else is the API's.
PAGE_PREFIXES: Final = ("/verify", "/me", "/audit", "/signin", "/signout", "/static")
STATIC: Final = Path(__file__).parent / "static"


def _prefix(path: str) -> str | None:
    if path == "/":
        # The front door (hub/web/home.py); only the root itself, not what is under it.
        return "/"
    return next((p for p in PAGE_PREFIXES if path == p or path.startswith(p + "/")), None)


def is_page_path(path: str) -> bool:
    """Whether ``path`` is one of the pages' (``/``, ``/me`` and ``/me/...``, not ``/mexico``)."""
    return _prefix(path) is not None


def _wants_html(scope: Scope) -> bool:
    """Whether the client is a browser navigating (it asks for HTML by name)."""
    for key, value in scope.get("headers", []):
        if key == b"accept":
            return b"text/html" in value
    return False


def _matched_operation(scope: Scope) -> bool:
    """Whether connexion routed the request to an operation of the API."""
    routing = scope.get("extensions", {}).get("connexion_routing", {})
    return bool(routing.get("operation_id"))


def create_pages(services: Services) -> ASGIApp:
    """The pages of the hub wired to ``services``."""
    frame = Frame(services)

    async def on_hub_error(request: Request, exc: Exception) -> Response:
        page = frame.begin(request)
        if isinstance(exc, SignInNeeded):
            # Citizens always have a way to sign in when an issuer is configured.
            by_issuer = exc.role == "citizen" and services.citizen_signin is not None
            if frame.settings.is_production and not by_issuer:
                return frame.error(page, exc)
            return frame.redirect(page, "/signin", next=request.url.path, role=exc.role)
        assert isinstance(exc, HubError)  # noqa: S101 - registered for HubError only
        return frame.error(page, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        page = frame.begin(request)
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        error: HubError = MethodNotAllowed() if status == 405 else NotFound("No such page.")
        return frame.error(page, error, status=status if status in (404, 405) else 404)

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Only the class reaches the log: a message may carry personal data.
        log.error("page failed", extra={"error": exc.__class__.__name__})
        page = frame.begin(request)
        return frame.error(page, HubError())

    async def root_of_me(request: Request) -> Response:
        return RedirectResponse("/me", status_code=308)

    routes: list[Route | Mount] = [
        *home.routes(frame),
        *verify.routes(frame),
        *signin.routes(frame),
        *citizen.routes(frame),
        *notifications.routes(frame),
        *cases.routes(frame),
        *audit.routes(frame),
        Route("/me/", root_of_me),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HubError: on_hub_error,
            HTTPException: on_http_error,
            # Starlette answers a bare "Internal Server Error" otherwise.
            Exception: on_crash,
        },
    )
    return _Guard(app, on_crash)


class _Guard:
    """The last net: an exception that escaped the handlers still becomes a page."""

    def __init__(self, app: ASGIApp, on_crash: object) -> None:
        self.app = app
        self.on_crash = on_crash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            handler = self.on_crash
            assert callable(handler)  # noqa: S101 - set by create_pages
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)


class PageRouter:
    """Sends the page prefixes to the pages and every other request to the API."""

    def __init__(self, api: ASGIApp, pages: ASGIApp) -> None:
        self.api = api
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = _prefix(str(scope.get("path", ""))) if scope["type"] == "http" else None
        if prefix is None:
            await self.api(scope, receive, send)
            return
        # The hub's middleware labels metrics by the operation recorded here (as
        # connexion records an API operation): "page:/me", never the raw path,
        # which may carry a certificate code and would multiply the series.
        routing = scope.setdefault("extensions", {}).setdefault("connexion_routing", {})
        routing["operation_id"] = f"page:{prefix}"
        await self.pages(scope, receive, send)


class PageErrors:
    """Turns a problem document sent to a person into a page.

    The hub's middleware refuses an oversized body (413) before any app
    runs, answering ``application/problem+json``; a person uploading a
    large PDF should read a page instead. Page paths are always answered
    with pages; on any other path, a browser that asks for HTML and reaches
    no operation of the API gets a 404 page, while API clients keep their
    problem documents.
    """

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.frame = Frame(services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page_path = is_page_path(str(scope.get("path", "")))
        if not page_path and not _wants_html(scope):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        replaced = False

        def for_a_person(status: int) -> bool:
            return page_path or (status == 404 and not _matched_operation(scope))

        async def relay(message: Message) -> None:
            nonlocal held, replaced
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                kind = headers.get(b"content-type", b"")
                problem = kind.startswith(b"application/problem+json")
                if problem and for_a_person(int(message["status"])):
                    held = message
                    return
                await send(message)
                return
            if held is not None:
                if not replaced:
                    replaced = True
                    await self._page(scope, int(held["status"]), send)
                return
            await send(message)

        await self.app(scope, receive, relay)

    async def _page(self, scope: Scope, status: int, send: Send) -> None:
        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        request = Request(scope, nothing)
        page = self.frame.begin(request)
        error: HubError
        if status == 413:
            error = PayloadTooLarge("")
        elif status == 404:
            error = NotFound("No such page.")
        else:
            error = HubError()
        response = self.frame.error(page, error, status=status)
        await response(scope, nothing, send)
