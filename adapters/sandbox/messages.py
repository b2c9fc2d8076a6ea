"""The sandbox's providers: a real SMTP server and an SMS/Viber HTTP gateway.

``hub demo`` and the tests need somewhere real to send notifications, so
that what a citizen would receive can be read back (``hub sandbox
messages``). Both providers store what they receive in one small SQLite
file (:class:`MessageBox`) and honour idempotency keys: a message whose key
(the email's ``Message-ID``, the gateway's ``Idempotency-Key``) was seen
before is acknowledged again and not stored twice — that is what lets the
hub retry after a crash without the citizen hearing twice.

* :class:`SandboxMailServer` is an aiosmtpd server in a background thread;
* :class:`SandboxGateway` is a small ASGI app speaking the JSON gateway
  shape of ``adapters.notify_http``; after accepting a message it posts a
  delivery receipt to the message's ``callback_url``, signed with HMAC-SHA256
  as ``X-Hub-Signature: t=<unix time>,v1=<hex>`` over ``"<t>."`` and the
  receipt's RFC 8785 canonical JSON.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub.domain.canonical import canonical_json

__all__ = [
    "CALLBACK_SECRET",
    "GATEWAY_TOKEN",
    "MessageBox",
    "SandboxGateway",
    "SandboxMailServer",
    "sign_receipt",
]

#: The sandbox gateway's bearer token and receipt-signing secret (development only).
GATEWAY_TOKEN = "sandbox-gateway-token"  # noqa: S105 - a published sandbox credential
CALLBACK_SECRET = "sandbox-callback-secret"  # noqa: S105 - a published sandbox credential

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    text TEXT NOT NULL,
    html TEXT,
    sent_at TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 1
)
"""


def sign_receipt(secret: str, receipt: dict[str, Any], at: int | None = None) -> str:
    """The ``X-Hub-Signature`` value of a ``receipt``."""
    stamp = int(time.time()) if at is None else at
    signed = f"{stamp}.".encode() + canonical_json(receipt)
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


class MessageBox:
    """What the sandbox providers received, in a SQLite file shared by processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def add(
        self,
        *,
        key: str,
        channel: str,
        to: str,
        subject: str | None,
        text: str,
        html: str | None = None,
    ) -> tuple[str, bool]:
        """Store a message once per key; its id and whether it is new."""
        ident = uuid.uuid4().hex
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        with self._connect() as db:
            db.execute(
                "INSERT INTO messages (key, id, channel, recipient, subject, text, html, sent_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                # A repeated key is counted (tests tell retries from sends), not stored.
                " ON CONFLICT (key) DO UPDATE SET hits = hits + 1",
                (key, ident, channel, to, subject, text, html, now),
            )
            row = db.execute("SELECT id, hits FROM messages WHERE key = ?", (key,)).fetchone()
        return str(row[0]), int(row[1]) == 1 and str(row[0]) == ident

    def list(
        self, *, to: Sequence[str] | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        query = "SELECT channel, recipient, subject, text, sent_at FROM messages"
        clauses: list[str] = []
        values: list[str] = []
        if to is not None:
            clauses.append(f"recipient IN ({', '.join('?' for _ in to)})" if to else "0")
            values.extend(to)
        if channel:
            clauses.append("channel = ?")
            values.append(channel)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY sent_at, rowid"
        with self._connect() as db:
            rows = db.execute(query, values).fetchall()
        return [
            {"channel": c, "to": r, "subject": s, "text": t, "sent_at": at}
            for c, r, s, t, at in rows
        ]

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])

    def hits(self) -> dict[str, int]:
        """How many times each key was received (more than 1: a retry, deduplicated)."""
        with self._connect() as db:
            return {str(k): int(n) for k, n in db.execute("SELECT key, hits FROM messages")}


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return str(content)


class _MailHandler:
    def __init__(self, box: MessageBox) -> None:
        self.box = box
        self.hold = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # noqa: S101 - the default policy's class
        key = str(message.get("Message-ID") or uuid.uuid4().hex)
        text = _plain_text(message)
        html_part = message.get_body(preferencelist=("html",))
        html = str(html_part.get_content()) if html_part is not None else None
        for recipient in envelope.rcpt_tos:
            self.box.add(
                key=f"{key}|{recipient}",
                channel="email",
                to=recipient,
                subject=str(message.get("Subject") or ""),
                text=text,
                html=html,
            )
        if self.hold:
            await asyncio.sleep(self.hold)
        return "250 Message accepted for delivery"


class SandboxMailServer:
    """A real SMTP server (aiosmtpd) on loopback that stores what it receives."""

    def __init__(self, box: MessageBox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.box = box
        if port == 0:
            # aiosmtpd needs a number; ask the system for a free one.
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self._port = port
        self._handler = _MailHandler(box)
        self._controller = Controller(self._handler, hostname=host, port=port)

    def start(self) -> None:
        self._controller.start()

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return self._port

    @property
    def hold(self) -> float:
        """Seconds to hold each answer to DATA after storing the message (a slow server)."""
        return self._handler.hold

    @hold.setter
    def hold(self, seconds: float) -> None:
        self._handler.hold = seconds

    def stop(self) -> None:
        self._controller.stop()


class SandboxGateway:
    """The SMS/Viber gateway: an ASGI app; serve it with uvicorn."""

    def __init__(
        self,
        box: MessageBox,
        *,
        token: str = GATEWAY_TOKEN,
        callback_secret: str = CALLBACK_SECRET,
        receipts: bool = True,
    ) -> None:
        self.box = box
        self.token = token
        self.callback_secret = callback_secret
        self.receipts = receipts
        #: Seconds to hold each answer after storing the message (a slow
        #: provider: the crash tests kill the hub while it waits).
        self.hold = 0.0
        self.app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                Route("/v1/messages", self._message, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def _message(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        key = request.headers.get("idempotency-key", "")
        if not 1 <= len(key) <= 128:
            return JSONResponse({"error": "Idempotency-Key is required"}, status_code=400)
        try:
            body = json.loads(await request.body())
            channel, to, text = body["channel"], body["to"], body["text"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "channel, to and text are required"}, status_code=400)
        if channel not in ("sms", "viber") or not isinstance(to, str) or not isinstance(text, str):
            return JSONResponse({"error": "unknown channel"}, status_code=400)
        if not to.startswith("+") or not to[1:].isdigit():
            return JSONResponse({"error": "not a phone number"}, status_code=422)
        ident, new = self.box.add(key=key, channel=channel, to=to, subject=None, text=text)
        if self.hold:
            await asyncio.sleep(self.hold)
        callback = body.get("callback_url")
        if new and self.receipts and isinstance(callback, str) and callback.startswith("http"):
            threading.Thread(
                target=self._receipt, args=(callback, ident, channel), daemon=True
            ).start()
        return JSONResponse({"id": ident, "duplicate": not new}, status_code=202 if new else 200)

    def _receipt(self, url: str, ident: str, channel: str) -> None:
        receipt = {"id": ident, "status": "delivered", "channel": channel}
        body = json.dumps(receipt).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature": sign_receipt(self.callback_secret, receipt),
        }
        for delay in (0.05, 0.5, 2.0):
            time.sleep(delay)
            try:
                answer = requests.post(url, data=body, headers=headers, timeout=5)
            except requests.RequestException:
                continue
            # 404: the hub has not recorded the send yet (the receipt
            # overtook it); try again shortly.
            if answer.status_code < 500 and answer.status_code != 404:
                return
