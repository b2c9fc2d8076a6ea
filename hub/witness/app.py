"""The ASGI application of ``hub witness serve``.

A witness is deliberately small and separate from the hub: a different
operator runs it, with its own key and its own database, so that the hub's
operator cannot rewrite what it remembers. It answers

* ``POST /add-checkpoint`` — the C2SP tlog-witness call: a cosignature line
  on success; 400/403/404/409/422 per the protocol, a 409 for a size
  conflict carrying the known size as ``text/x.tlog.size``;
* ``GET /healthz`` — liveness;
* ``GET /key`` — the witness's verifier key (vkey), to configure logs with.

Plain Starlette rather than connexion: the protocol is text, not JSON, and
the app must stay small enough to audit at a glance.
"""

from __future__ import annotations

from typing import Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hub.domain.auditlog.errors import SizeConflict, WitnessRefusal
from hub.domain.auditlog.witness import SIZE_CONTENT_TYPE, Witness
from hub.errors import HubError

__all__ = ["MAX_BODY", "create_witness_app"]

#: The largest add-checkpoint body: 63 proof lines and a note with signatures.
MAX_BODY: Final = 64 * 1024


def _text(body: str, status: int = 200, content_type: str = "text/plain") -> Response:
    return PlainTextResponse(body, status_code=status, media_type=content_type)


async def _read_body(request: Request) -> str | Response:
    """The body as text, or the answer refusing it (too large, not UTF-8)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return _text("the body is too large\n", 413)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _text("the body is too large\n", 413)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _text("the body is not UTF-8\n", 400)


def create_witness_app(witness: Witness) -> Starlette:
    """The witness's HTTP interface around ``witness``."""

    async def add_checkpoint(request: Request) -> Response:
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        try:
            # The store is synchronous (SQLAlchemy): keep it off the event loop.
            lines = await run_in_threadpool(witness.add_checkpoint, body)
        except SizeConflict as exc:
            return _text(f"{exc.known_size}\n", exc.status, SIZE_CONTENT_TYPE)
        except WitnessRefusal as exc:
            return _text(exc.detail + "\n", exc.status)
        except HubError as exc:
            return _text(exc.title + "\n", exc.status)
        return _text(lines)

    async def healthz(_request: Request) -> Response:
        return _text("ok\n")

    async def key(_request: Request) -> Response:
        return _text(witness.signer.verifier().to_text() + "\n")

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/key", key, methods=["GET"]),
        ]
    )
