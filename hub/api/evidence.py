"""The evidence endpoint: parse, delegate to the evidence service, shape."""

from __future__ import annotations

from typing import Any

from connexion.context import context

from hub.api._context import CLIENT_REQUEST_ID, services
from hub.api._responses import JsonResult, json_body
from hub.auth.models import AgencyPrincipal
from hub.domain.identity import parse_citizen_ref
from hub.evidence.models import EvidenceRequest
from hub.logs import REQUEST_ID

__all__ = ["agency_principal", "request_evidence"]


def agency_principal() -> AgencyPrincipal:
    info = context["token_info"]
    return AgencyPrincipal(
        agency_id=info["sub"], purposes=tuple(info["purposes"]), token_id=info["token_id"]
    )


def request_evidence(body: dict[str, Any]) -> JsonResult:
    request = EvidenceRequest(
        citizen=parse_citizen_ref(body["citizen"], services().catalog.catalog.identifiers),
        evidence_type=body["evidence_type"],
        purpose=body["purpose"],
        consent_id=body.get("consent_id"),
        official=body.get("official"),
        case_reference=body.get("case_reference"),
        parameters=body.get("parameters", {}),
        client_request_id=CLIENT_REQUEST_ID.get(),
    )
    result = services().evidence.request(agency_principal(), request, REQUEST_ID.get())
    answer: dict[str, Any] = {
        "request_id": result.request_id,
        "evidence": result.evidence,
        "evidence_type": result.evidence_type,
        "purpose": result.purpose,
        "registries": list(result.registries),
        "issued_at": result.issued_at.isoformat().replace("+00:00", "Z"),
        "legal_basis": result.legal_basis,
        "consent_id": result.consent_id,
        "parameters": dict(result.parameters),
        "log_index": result.log_index,
        "provenance": {name: list(items) for name, items in result.provenance.items()},
    }
    if result.seal is not None:
        answer["seal"] = result.seal
    return json_body(answer)
