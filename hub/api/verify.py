"""Public verification: upload a sealed PDF or JWS, or look a code up.

No login; each client address is rate-limited. Uploads are bounded (the
middleware's body limit, and :data:`hub.limits.MAX_UPLOAD_BYTES`), read once,
verified in memory and never stored. A document comes as the body (PDF,
JOSE or octet-stream) or as the ``file`` field of a multipart form, which is
what generated clients and browsers send.
"""

from __future__ import annotations

from typing import Any

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


def _uploaded(file: Any) -> tuple[bytes, str | None]:
    """The bytes and media type of a multipart ``file`` part (a Starlette UploadFile)."""
    # The part is spooled already; reading it here keeps the handler synchronous,
    # so connexion runs it (and the verification) in its thread pool.
    spooled = getattr(file, "file", None)
    if spooled is None:
        raise BadRequest("The form's file field holds no file.")
    try:
        data = spooled.read(MAX_UPLOAD_BYTES + 1)
    finally:
        # Nothing else closes the spooled part (neither connexion nor Starlette
        # here), and an upload must never outlive its check.
        spooled.close()
    if not isinstance(data, bytes):
        raise BadRequest("The form's file field holds no file.")
    return data, getattr(file, "content_type", None)


def verify_document(body: Any = None, verifier: str | None = None, file: Any = None) -> JsonResult:
    check_rate_limit(services().verify_limiter, "verification")
    media_type = _request.headers.get("content-type")
    if file is not None:
        # A form upload: the part's own type names the document (a browser
        # sends application/octet-stream when it does not know, then the
        # content decides).
        data, media_type = _uploaded(file)
    else:
        data = body if isinstance(body, bytes) else b""
    if media_type and media_type.split(";", 1)[0].strip().lower() == "application/octet-stream":
        media_type = None
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Documents larger than {MAX_UPLOAD_BYTES} bytes are not verified.")
    if not data.strip():
        raise BadRequest("The request body is empty; send the PDF or the JWS.")
    report = certificate_service().verify_document(
        data, media_type, verifier=verifier, request_id=REQUEST_ID.get()
    )
    return json_body(report.to_dict(), headers=_NO_STORE)


def verify_code(code: str, verifier: str | None = None) -> JsonResult:
    check_rate_limit(services().verify_limiter, "verification")
    check = certificate_service().verify_code(code, verifier, REQUEST_ID.get())
    return json_body(check.to_dict(), headers=_NO_STORE)
