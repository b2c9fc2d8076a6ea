"""The agency webhook endpoints: register, list, remove, and read the delivery log.

The secret that signs deliveries is in the registration's answer only.
Another agency's endpoint answers 404, like a missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.api._context import services
from hub.api._responses import JsonResult, json_body
from hub.api.evidence import agency_principal
from hub.webhooks.models import Delivery, Endpoint
from hub.webhooks.service import WebhookService

__all__ = ["create_webhook", "delete_webhook", "list_deliveries", "list_webhooks"]

_NO_STORE = {"Cache-Control": "no-store"}


def _service() -> WebhookService:
    return services().webhooks


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _endpoint(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "created_at": _iso(endpoint.created_at),
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "created_at": _iso(delivery.created_at),
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "attempts": [
            {
                "number": a.number,
                "at": _iso(a.at),
                "outcome": a.outcome,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempts
        ],
    }


def create_webhook(body: dict[str, Any]) -> JsonResult:
    endpoint = _service().register(agency_principal(), url=body["url"], event_types=body["events"])
    answer = {**_endpoint(endpoint), "secret": endpoint.secret}
    headers = {**_NO_STORE, "Location": f"/v1/agency/webhooks/{endpoint.id}"}
    return json_body(answer, 201, headers)


def list_webhooks() -> JsonResult:
    found = _service().endpoints(agency_principal())
    return json_body({"items": [_endpoint(e) for e in found]}, 200, _NO_STORE)


def delete_webhook(webhook_id: str) -> tuple[None, int, dict[str, str]]:
    _service().remove(agency_principal(), webhook_id)
    return None, 204, _NO_STORE


def list_deliveries(webhook_id: str) -> JsonResult:
    found = _service().deliveries(agency_principal(), webhook_id)
    return json_body({"items": [_delivery(d) for d in found]}, 200, _NO_STORE)
