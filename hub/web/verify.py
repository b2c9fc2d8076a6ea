"""``/verify``: anyone checks a document by uploading it or typing its code.

No sign-in. The same domain calls as ``POST /v1/verify`` and
``GET /v1/verify/{code}`` with the same per-address rate limit; the upload
is read into memory, verified and dropped, never written anywhere.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.certificates.models import VerificationReport
from hub.certificates.service import CertificateService
from hub.domain.sealing.report import Status
from hub.errors import NestingTooDeep, TooManyRequests
from hub.json_depth import MAX_DEPTH, too_deep
from hub.limits import MAX_UPLOAD_BYTES
from hub.logs import REQUEST_ID
from hub.web._frame import Frame, Page
from hub.web.i18n import has_words

__all__ = ["routes"]

_MAX_CODE = 64


def _service(frame: Frame) -> CertificateService:
    return frame.services.certificates


def _limit(frame: Frame, request: Request) -> None:
    limiter = frame.services.verify_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.hit(address)
    if wait is not None:
        raise TooManyRequests(f"Too many checks; try again in {wait} seconds.", retry_after=wait)


def _type_title(frame: Frame, page: Page, evidence_type: str | None) -> str | None:
    if evidence_type is None:
        return None
    return frame.words(page).evidence_type(evidence_type)


_ORGANISATION_ID = x509.ObjectIdentifier("2.5.4.97")


def sealer_name(signer: str | None) -> str | None:
    """Who sealed, for people: the organisation and its identifier, not the whole DN.

    ``signer`` is the seal certificate's subject as RFC 4514 text; the full
    text stays in the page's technical details. Text that is not a DN with
    an organisation is shown as it is.
    """
    if not signer:
        return None
    try:
        name = x509.Name.from_rfc4514_string(signer)
    except ValueError:
        return signer
    organisation = [str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if not organisation:
        return signer
    identifier = [str(a.value) for a in name.get_attributes_for_oid(_ORGANISATION_ID)]
    return organisation[0] + (f" ({identifier[0]})" if identifier else "")


def _sealed_part(data: bytes) -> bytes:
    """The ``seal`` of an agency's saved JSON answer; any other upload as it is.

    People keep the whole answer of ``POST /v1/evidence`` as a ``.json`` file;
    what the hub sealed is its ``seal`` member, a compact JWS.
    """
    if not data.lstrip().startswith(b"{") or len(data) > MAX_UPLOAD_BYTES:
        return data
    # The parser recurses per level: a deep document would end in a 500.
    if too_deep(data):
        raise NestingTooDeep(f"JSON documents may nest at most {MAX_DEPTH} levels.")
    try:
        answer = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return data
    seal = answer.get("seal") if isinstance(answer, dict) else None
    return seal.encode("ascii", "replace") if isinstance(seal, str) else data


def reason_keys(report: VerificationReport) -> list[str]:
    """Why a document failed, as keys of the page's messages, from the report's codes.

    The report's ``reasons`` are English sentences for logs and machines; a
    person reads words chosen by its stable codes instead: the ETSI
    sub-indication and what the hub's records say (unknown code, not the file
    issued, revoked). A code this page has no words for yet gets a generic
    sentence in the page's language, never the English text.
    """
    keys: list[str] = []
    if report.status != Status.VALID and report.sub_indication is not None:
        keys.append(f"reason_{report.sub_indication}")
    if report.registered is False:
        keys.append("reason_not_registered")
    if report.matches_issued is False:
        keys.append("reason_not_as_issued")
    if report.revoked_at is not None:
        keys.append("reason_revoked")
    if not keys and report.status != Status.VALID:
        keys.append("reason_generic")
    known = [key if has_words(key) else "reason_generic" for key in keys]
    return list(dict.fromkeys(known))


def routes(frame: Frame) -> list[Route]:
    async def check_code(request: Request, page: Page, code: str) -> Response:
        code = code.strip()[:_MAX_CODE]
        if not code:
            errors = {"code": page.t("verify_no_code")}
            return frame.render(page, "verify.html", {"errors": errors, "code": ""}, status=422)
        service = _service(frame)
        _limit(frame, request)
        check = await run_in_threadpool(service.verify_code, code, None, REQUEST_ID.get())
        result: dict[str, Any] = {
            "mode": "code",
            "status": check.status,
            "code": check.code,
            "type_title": _type_title(frame, page, check.evidence_type),
            "issued_at": check.issued_at,
            "holder": check.holder,
            "revoked_at": check.revoked_at,
            "revocation_reason": check.revocation_reason,
            "reasons": [],
            "signer": None,
            "sealer": None,
            "kid": None,
            "signing_time": None,
            "matches_issued": None,
            "indication": None,
            "sub_indication": None,
            "level": None,
            "modifications": [],
        }
        return frame.render(page, "verify_result.html", {"result": result})

    async def form_or_code(request: Request) -> Response:
        page = frame.begin(request)
        code = request.query_params.get("code")
        if code is None:
            return frame.render(page, "verify.html", {"errors": {}, "code": ""})
        return await check_code(request, page, code)

    async def printed_link(request: Request) -> Response:
        # The link printed under a certificate's QR code: /verify/{code}. Its
        # fragment (the signed QR token) stays in the browser; the code is enough.
        page = frame.begin(request)
        return await check_code(request, page, str(request.path_params["code"]))

    async def upload(request: Request) -> Response:
        page = frame.begin(request)
        form = await frame.form(page)
        document = form.files.get("document")
        if document is None or not document.data.strip():
            errors = {"document": page.t("verify_no_file")}
            return frame.render(page, "verify.html", {"errors": errors, "code": ""}, status=422)
        service = _service(frame)
        _limit(frame, request)
        media = "application/pdf" if document.content_type == "application/pdf" else None
        # Off the event loop: measuring and parsing a large upload takes a while.
        data = (
            await run_in_threadpool(_sealed_part, document.data) if media is None else document.data
        )
        report = await run_in_threadpool(
            lambda: service.verify_document(data, media, verifier=None, request_id=REQUEST_ID.get())
        )
        result = {
            "mode": "document",
            "status": str(report.status),
            "code": report.code,
            "type_title": _type_title(frame, page, report.evidence_type),
            "signer": report.signer,
            "sealer": sealer_name(report.signer),
            "kid": report.kid,
            "signing_time": report.signing_time,
            "holder": None,
            "issued_at": report.issued_at,
            "matches_issued": report.matches_issued,
            "revoked_at": report.revoked_at,
            "revocation_reason": report.revocation_reason,
            "reasons": [page.t(key) for key in reason_keys(report)],
            "indication": str(report.indication),
            "sub_indication": str(report.sub_indication) if report.sub_indication else None,
            "level": report.level,
            "modifications": list(report.modifications),
        }
        return frame.render(page, "verify_result.html", {"result": result})

    return [
        Route("/verify", form_or_code, methods=["GET"]),
        Route("/verify", upload, methods=["POST"]),
        Route("/verify/{code}", printed_link, methods=["GET"]),
    ]
