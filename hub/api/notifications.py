"""The notification endpoints: the citizen's contacts, choices and messages; receipts.

Citizens (``citizenToken``) read and change their contact points (each new
one confirmed by a one-time code sent through it), their language, what they
are told on which channel, and the delivery status of every message sent to
them. Providers post delivery receipts to ``/v1/notifications/receipts``,
signed with HMAC-SHA256 over ``"<t>."`` followed by the body's RFC 8785
canonical JSON (``X-Hub-Signature: t=<unix time>,v1=<hex>``) — the
canonical form, so that the signature survives any re-encoding of the JSON
on the way and does not depend on the raw bytes reaching the handler); an
unsigned, wrongly signed or stale receipt is refused with 401 and changes
nothing. Every answer about a citizen is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

from connexion import request as _request

from hub.api._context import citizen_principal, services
from hub.api._responses import JsonResult, json_body
from hub.domain.canonical import canonical_json
from hub.errors import BadRequest, NotFound, Unauthorized
from hub.notifications.service import NotificationService

__all__ = [
    "confirm_contact",
    "delivery_receipt",
    "my_contacts",
    "my_notifications",
    "my_preferences",
    "remove_contact",
    "set_language",
    "set_preferences",
    "start_contact_verification",
]

_NO_STORE = {"Cache-Control": "no-store"}
#: How old a signed receipt may be: a captured one cannot be replayed later.
_RECEIPT_TOLERANCE = 300


def _service() -> NotificationService:
    return services().notifications


def _iso(value: Any) -> str:
    return str(value.isoformat()).replace("+00:00", "Z")


def my_contacts() -> JsonResult:
    return json_body(_service().contacts(citizen_principal()), headers=_NO_STORE)


def set_language(body: dict[str, Any]) -> JsonResult:
    found = _service().set_language(citizen_principal(), body["language"])
    return json_body(found, headers=_NO_STORE)


def start_contact_verification(body: dict[str, Any]) -> JsonResult:
    started = _service().start_verification(
        citizen_principal(), body["kind"], body["address"], body.get("language", "el")
    )
    started["expires_at"] = _iso(started["expires_at"])
    return json_body(started, 202, headers=_NO_STORE)


def confirm_contact(verification_id: str, body: dict[str, Any]) -> JsonResult:
    found = _service().confirm(citizen_principal(), verification_id, body["code"])
    return json_body(found, headers=_NO_STORE)


def remove_contact(kind: str) -> JsonResult:
    return json_body(_service().remove_contact(citizen_principal(), kind), headers=_NO_STORE)


def my_preferences() -> JsonResult:
    found = _service().preferences(citizen_principal())
    return json_body({"preferences": found}, headers=_NO_STORE)


def set_preferences(body: dict[str, Any]) -> JsonResult:
    found = _service().set_preferences(citizen_principal(), body["preferences"])
    return json_body({"preferences": found}, headers=_NO_STORE)


def my_notifications(limit: int = 50) -> JsonResult:
    found = _service().messages_of(citizen_principal(), limit)
    return json_body({"items": [m.to_json() for m in found]}, headers=_NO_STORE)


def _check_signature(secret: str, header: str, body: bytes) -> None:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, mac = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > _RECEIPT_TOLERANCE:
        raise Unauthorized("The receipt's signature is missing or too old.")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise Unauthorized("The receipt's signature does not match.")


async def delivery_receipt(body: dict[str, Any]) -> JsonResult:
    secret = services().settings.notify_callback_secret
    if not secret:
        # Nothing can prove a receipt genuine: every one is refused alike.
        raise Unauthorized("The hub takes no delivery receipts: no callback secret is set.")
    try:
        signed = canonical_json(body)
    except (ValueError, TypeError) as exc:
        raise BadRequest("A receipt is a JSON object with id and status.") from exc
    _check_signature(secret, _request.headers.get("x-hub-signature", ""), signed)
    receipt = body
    provider_id, status = str(receipt["id"]), str(receipt["status"])
    # A database write: off the event loop.
    settled = await asyncio.to_thread(
        _service().receipt, provider_id, status, str(receipt.get("error") or "")[:200]
    )
    if not settled:
        raise NotFound("No sent message has this provider id.")
    return json_body({"settled": settled})
