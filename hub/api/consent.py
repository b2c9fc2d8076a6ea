"""The consent endpoints: agencies ask, citizens preview, decide, revoke and look.

Agencies (``agencyToken``) open a consent request and follow its status.
Citizens (``citizenToken``) list the requests naming them, preview exactly
what would be shared, approve or refuse, list and revoke their consents,
download a sealed receipt, and read every access to their data. Handlers
parse, call one :class:`~hub.consent.service.ConsentService` method and shape
the answer; another citizen's request or consent answers 404, exactly like
one that does not exist; the attempt is logged as a denial all the same.

The receipt is answered as JSON ``{"receipt": {...}, "jws": "<compact JWS>"}``:
the compact JWS is the authoritative, sealed form (verify it with the keys
at ``/.well-known/jwks.json`` or its ``x5c`` chain); ``receipt`` is its
payload, decoded for convenience.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.api._context import citizen_principal, services
from hub.api._responses import JsonResult, json_body
from hub.api.evidence import agency_principal
from hub.consent.models import Consent, ConsentRequest
from hub.consent.service import ConsentService
from hub.domain.identity import parse_citizen_ref
from hub.logs import REQUEST_ID

__all__ = [
    "consent_receipt",
    "create_request",
    "decide_request",
    "get_my_request",
    "get_request",
    "my_access_log",
    "my_consents",
    "my_requests",
    "preview_request",
    "revoke_consent",
]


def _service() -> ConsentService:
    return services().consents


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _now(service: ConsentService) -> dt.datetime:
    return service.now()


def _agency(service: ConsentService, agency_id: str) -> dict[str, Any]:
    agency = service.catalog.agencies.get(agency_id)
    return {"id": agency_id, "name": agency.name if agency else None}


def _purpose_description(service: ConsentService, purpose_id: str) -> str | None:
    purpose = service.catalog.purposes.get(purpose_id)
    return purpose.description if purpose else None


def _evidence(service: ConsentService, item: ConsentRequest | Consent) -> list[dict[str, Any]]:
    return [{"id": et, "fields": f} for et, f in service.fields_of(item).items()]


def _consent(service: ConsentService, consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "request_id": consent.request_id,
        "status": consent.status(_now(service)),
        "agency": _agency(service, consent.agency_id),
        "purpose": consent.purpose,
        "purpose_description": _purpose_description(service, consent.purpose),
        "legal_basis": "consent",
        "evidence_types": _evidence(service, consent),
        "granted_at": _iso(consent.granted_at),
        "valid_until": _iso(consent.valid_until),
        "once": consent.once,
        "revoked_at": _iso(consent.revoked_at),
        "used_at": _iso(consent.used_at),
    }


def _request(
    service: ConsentService, request: ConsentRequest, consent: Consent | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": request.id,
        "status": request.status(_now(service)),
        "agency": _agency(service, request.agency_id),
        "official": request.official,
        "purpose": request.purpose,
        "purpose_description": _purpose_description(service, request.purpose),
        "evidence_types": _evidence(service, request),
        "created_at": _iso(request.created_at),
        "expires_at": _iso(request.expires_at),
        "decided_at": _iso(request.decided_at),
        "consent_id": request.consent_id,
    }
    if consent is not None:
        body["consent"] = {
            "id": consent.id,
            "status": consent.status(_now(service)),
            "valid_until": _iso(consent.valid_until),
            "once": consent.once,
        }
    return body


# -- agencies -----------------------------------------------------------------------


def create_request(body: dict[str, Any]) -> JsonResult:
    service = _service()
    request = service.open_request(
        agency_principal(),
        citizen=parse_citizen_ref(body["citizen"]),
        purpose=body["purpose"],
        evidence_types=body["evidence_types"],
        official=body.get("official"),
        request_id=REQUEST_ID.get(),
    )
    return json_body(
        _request(service, request),
        201,
        {"Location": f"/v1/consent-requests/{request.id}"},
    )


def get_request(request_id: str) -> JsonResult:
    service = _service()
    request, consent = service.request_for_agency(agency_principal(), request_id, REQUEST_ID.get())
    return json_body(_request(service, request, consent))


# -- citizens -----------------------------------------------------------------------


def my_requests(status: str | None = None) -> JsonResult:
    service = _service()
    found = service.requests_of(citizen_principal())
    now = _now(service)
    items = [_request(service, r) for r in found if status is None or r.status(now) == status]
    return json_body({"items": items})


def get_my_request(request_id: str) -> JsonResult:
    service = _service()
    found = service.get_request(citizen_principal(), request_id, REQUEST_ID.get())
    return json_body(_request(service, found))


def preview_request(request_id: str) -> JsonResult:
    service = _service()
    preview = service.preview(citizen_principal(), request_id, REQUEST_ID.get())
    return json_body(
        {
            "request": _request(service, preview.request),
            "fetched_at": _iso(preview.fetched_at),
            "stored": False,
            "items": [
                {"evidence_type": i.evidence_type, "fields": list(i.fields), "evidence": i.evidence}
                for i in preview.items
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


def decide_request(request_id: str, body: dict[str, Any]) -> JsonResult:
    service = _service()
    request, consent = service.decide(
        citizen_principal(),
        request_id,
        approve=body["decision"] == "approve",
        valid_until=body.get("valid_until"),
        once=bool(body.get("once", False)),
        http_request_id=REQUEST_ID.get(),
    )
    return json_body(
        {
            "request": _request(service, request, consent),
            "consent": _consent(service, consent) if consent else None,
        }
    )


def my_consents(status: str | None = None) -> JsonResult:
    service = _service()
    now = _now(service)
    items = [
        _consent(service, c)
        for c in service.consents_of(citizen_principal())
        if status is None or c.status(now) == status
    ]
    return json_body({"items": items})


def revoke_consent(consent_id: str) -> JsonResult:
    service = _service()
    consent = service.revoke(citizen_principal(), consent_id, REQUEST_ID.get())
    return json_body(_consent(service, consent))


def consent_receipt(consent_id: str) -> JsonResult:
    service = _service()
    receipt, token = service.receipt(citizen_principal(), consent_id, REQUEST_ID.get())
    return json_body({"receipt": receipt, "jws": token}, headers={"Cache-Control": "no-store"})


def my_access_log(cursor: str | None = None, limit: int | None = None) -> JsonResult:
    service = _service()
    page = service.accesses(citizen_principal(), cursor=cursor, limit=limit)
    return json_body(
        {"items": [service.describe_entry(e) for e in page.items], "next": page.next},
        headers={"Cache-Control": "no-store"},
    )
