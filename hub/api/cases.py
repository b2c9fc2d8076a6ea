"""The case-status endpoints: agencies update their cases, citizens read theirs.

``PUT /v1/cases/{case_reference}`` opens (201) or changes (200) the agency's
own case; ``GET`` reads it back with its changes. Another agency's reference
answers 404, like a missing one, and the attempt is logged as a denial.
``GET /v1/me/cases`` gives the citizen every case naming them with its
timeline and, for a missing document, how the hub can bring it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.api._context import citizen_principal, services
from hub.api._responses import JsonResult, json_body
from hub.api.evidence import agency_principal
from hub.cases.models import Case, CaseChange, CaseView
from hub.cases.service import CaseService
from hub.domain.identity import parse_citizen_ref
from hub.logs import REQUEST_ID

__all__ = ["get_case", "my_cases", "update_case"]

_NO_STORE = {"Cache-Control": "no-store"}


def _service() -> CaseService:
    return services().cases


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _change(change: CaseChange) -> dict[str, Any]:
    return {
        "at": _iso(change.at),
        "title": change.title,
        "status": change.status,
        "document": change.document,
        "deadline": _day(change.deadline),
        "note": change.note,
    }


def _case(case: Case) -> dict[str, Any]:
    return {
        "case_reference": case.reference,
        "title": case.title,
        "status": case.status,
        "document": case.document,
        "deadline": _day(case.deadline),
        "note": case.note,
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "version": case.version,
    }


def update_case(case_reference: str, body: dict[str, Any]) -> JsonResult:
    service = _service()
    case, created = service.update(
        agency_principal(),
        case_reference,
        citizen=parse_citizen_ref(body["citizen"]),
        title=body["title"],
        status=body["status"],
        document=body.get("document"),
        deadline=body.get("deadline"),
        note=body.get("note"),
        request_id=REQUEST_ID.get(),
    )
    history = service.store.history(case.agency_id, case.reference)
    answer = {**_case(case), "changes": [_change(c) for c in history]}
    return json_body(answer, 201 if created else 200, _NO_STORE)


def get_case(case_reference: str) -> JsonResult:
    case, history = _service().get(agency_principal(), case_reference, REQUEST_ID.get())
    return json_body({**_case(case), "changes": [_change(c) for c in history]}, 200, _NO_STORE)


def _view(service: CaseService, view: CaseView) -> dict[str, Any]:
    agency = service.catalog.agencies.get(view.case.agency_id)
    timeline: list[dict[str, Any]] = []
    for item in view.timeline:
        if item.change is not None:
            timeline.append({"kind": "status", **_change(item.change)})
        elif item.evidence is not None:
            timeline.append(
                {
                    "kind": "evidence",
                    "at": _iso(item.evidence.at),
                    "evidence_type": item.evidence.evidence_type,
                    "purpose": item.evidence.purpose,
                    "outcome": item.evidence.outcome,
                    "log_index": item.evidence.log_index,
                }
            )
    offer = view.offer
    return {
        **_case(view.case),
        "agency": {"id": view.case.agency_id, "name": agency.name if agency else None},
        "timeline": timeline,
        "offer": None
        if offer is None
        else {
            "evidence_type": offer.evidence_type,
            "agency_can_fetch": offer.agency_can_fetch,
            "certificate": offer.certificate,
            "certificate_url": (
                f"/me/certificates?type={offer.evidence_type}" if offer.certificate else None
            ),
        },
    }


def my_cases() -> JsonResult:
    service = _service()
    views = service.cases_of(citizen_principal())
    return json_body({"items": [_view(service, v) for v in views]}, 200, _NO_STORE)
