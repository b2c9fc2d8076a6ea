"""Public verification: upload a sealed PDF or JWS, or look a code up.

No login; each client address is rate-limited. Uploads are bounded (the
middleware's body limit, and :data:`hub.limits.MAX_UPLOAD_BYTES`), read once,
verified in memory and never stored.
"""

from __future__ import annotations

from connexion import request as _request

from hub.api._certificates import certificate_service
from hub.api._context import services
from hub.api._limits import check_rate_limit
from hub.api._responses import JsonResult, json_body
from hub.errors import BadRequest, PayloadTooLarge
from hub.limits import MAX_UPLOAD_BYTES
from hub.logs import REQUEST_ID

__all__ = ["MAX_UPLOAD_BYTES", "verify_code", "verify_document"]


_NO_STORE = {"Cache-Control": "no-store"}


def verify_document(body: bytes | None = None, verifier: str | None = None) -> JsonResult:
    check_rate_limit(services().verify_limiter, "verification")
    data = body if isinstance(body, bytes) else b""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Documents larger than {MAX_UPLOAD_BYTES} bytes are not verified.")
    if not data.strip():
        raise BadRequest("The request body is empty; send the PDF or the JWS.")
    media_type = _request.headers.get("content-type")
    report = certificate_service().verify_document(
        data, media_type, verifier=verifier, request_id=REQUEST_ID.get()
    )
    return json_body(report.to_dict(), headers=_NO_STORE)


def verify_code(code: str, verifier: str | None = None) -> JsonResult:
    check_rate_limit(services().verify_limiter, "verification")
    check = certificate_service().verify_code(code, verifier, REQUEST_ID.get())
    return json_body(check.to_dict(), headers=_NO_STORE)
