"""The citizen's certificates: issue, list, download again, revoke.

The signed-in citizen only ever sees their own certificates; a code that
belongs to someone else is answered exactly as an unknown one (404), and
the attempt is logged as a denial under that certificate's holder.
"""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse

from hub.api._certificates import certificate_service, issuance_gate
from hub.api._context import citizen_principal
from hub.api._responses import JsonResult, json_body
from hub.logs import REQUEST_ID

__all__ = ["download_certificate", "issue_certificate", "list_certificates", "revoke_certificate"]


def _pdf(pdf: bytes, code: str, status: int = 200) -> ConnexionResponse:
    headers = {
        "X-Verification-Code": code,
        "Content-Disposition": f'attachment; filename="certificate-{code}.pdf"',
        "Cache-Control": "no-store",
    }
    if status == 201:  # Created: say where to fetch it again
        headers["Location"] = f"/v1/me/certificates/{code}/pdf"
    return ConnexionResponse(
        status_code=status,
        body=pdf,
        mimetype="application/pdf",
        content_type="application/pdf",
        headers=headers,
    )


async def issue_certificate(body: dict[str, Any]) -> ConnexionResponse:
    # Asynchronous so that waiting for the issuance pool holds no framework thread.
    issued = await issuance_gate().issue(
        certificate_service(), citizen_principal(), body["type"], REQUEST_ID.get()
    )
    return _pdf(issued.pdf, issued.record.code, status=201)


def list_certificates() -> JsonResult:
    records = certificate_service().list_for(citizen_principal())
    return json_body(
        {"items": [r.summary() for r in records]}, headers={"Cache-Control": "no-store"}
    )


def download_certificate(code: str) -> ConnexionResponse:
    record, pdf = certificate_service().pdf_for(citizen_principal(), code, REQUEST_ID.get())
    return _pdf(pdf, record.code)


def revoke_certificate(code: str, body: dict[str, Any]) -> JsonResult:
    record = certificate_service().revoke_by_holder(
        citizen_principal(), code, body["reason"], REQUEST_ID.get()
    )
    return json_body(record.summary())
