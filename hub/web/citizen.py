"""``/me``: the signed-in citizen's certificates, consents, requests and history.

Each handler calls the same domain service method the citizen API calls,
with the principal from the session, so a page can show nothing that the
API would not. Changes (issue, decide, revoke) are POSTs answered by a
redirect to a page that shows the result (POST-redirect-GET), so reloading
never repeats them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.audit.models import EntryQuery
from hub.audit.service import AuditService
from hub.auth.models import CitizenPrincipal
from hub.certificates.service import CertificateService
from hub.consent.models import Consent, ConsentRequest
from hub.consent.service import ConsentService
from hub.errors import ValidationFailed
from hub.logs import REQUEST_ID
from hub.web._frame import Frame, Page, athens_day, today_athens
from hub.web._words import Words

__all__ = ["routes"]

_PAGE = 20


def _consents(frame: Frame) -> ConsentService:
    return frame.services.consents


def _certificates(frame: Frame) -> CertificateService:
    return frame.services.certificates


def _audit(frame: Frame) -> AuditService:
    return frame.services.audit


def _consent_row(service: ConsentService, consent: Consent, words: Words) -> dict[str, Any]:
    return {
        "id": consent.id,
        "status": consent.status(service.now()),
        "agency": words.agency(consent.agency_id),
        "purpose": words.purpose(consent.purpose),
        "fields": _field_labels(words, service.fields_of(consent)),
        "granted_at": consent.granted_at,
        "valid_until": consent.valid_until,
        "once": consent.once,
    }


def _request_row(service: ConsentService, request: ConsentRequest, words: Words) -> dict[str, Any]:
    return {
        "id": request.id,
        "status": request.status(service.now()),
        "agency": words.agency(request.agency_id),
        "official": request.official,
        "purpose": words.purpose(request.purpose),
        "fields": _field_labels(words, service.fields_of(request)),
        "created_at": request.created_at,
        "expires_at": request.expires_at,
    }


def _entry_row(described: dict[str, Any], words: Words) -> dict[str, Any]:
    """An access as the citizen reads it: every code replaced by the catalogue's words."""
    actor = described.get("actor") or {}
    kind = described.get("evidence_type") or ""
    mine = actor.get("kind") == "citizen"
    return {
        "time": described.get("time"),
        "who": words.translate("actor_you") if mine else words.actor(actor),
        "action": words.term("actions", described.get("action")),
        "evidence_type": words.evidence_type(kind) if kind else None,
        "fields": [words.field(kind, f) for f in described.get("fields") or []],
        "purpose": words.purpose(described.get("purpose")),
        "legal_basis": (
            words.legal_basis(described.get("legal_basis"), described.get("purpose"))
            if described.get("legal_basis")
            else None
        ),
        "outcome": described.get("outcome") or "error",
        "outcome_text": words.term("outcomes", described.get("outcome")),
        "reason": words.term("reasons", described["reason"]) if described.get("reason") else None,
        "case_reference": described.get("case_reference"),
    }


def _field_labels(words: Words, fields: dict[str, list[str]]) -> dict[str, list[str]]:
    return {et: [words.field(et, f) for f in names] for et, names in fields.items()}


def routes(frame: Frame) -> list[Route]:  # noqa: PLR0915 - one closure per page reads best
    async def home(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _consents(frame)
        found = await run_in_threadpool(service.requests_of, citizen)
        pending = sum(1 for r in found if r.status(service.now()) == "pending")
        return frame.render(page, "me.html", {"pending": pending})

    # -- certificates

    async def certificates(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _certificates(frame)
        records = await run_in_threadpool(service.list_for, citizen)
        context = {
            "records": records,
            "types": service.types,
            "issued": request.query_params.get("issued", "")[:32],
            "errors": {},
            # A case's missing document links here with its type chosen (/me/cases).
            "chosen": request.query_params.get("type", "")[:64],
        }
        return frame.render(page, "me_certificates.html", context)

    async def issue(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        service = _certificates(frame)
        kind = form.get("type")
        if kind not in service.types:
            records = await run_in_threadpool(service.list_for, citizen)
            context = {
                "records": records,
                "types": service.types,
                "issued": "",
                "errors": {"type": page.t("cert_type_label")},
                "chosen": "",
            }
            return frame.render(page, "me_certificates.html", context, status=422)
        # The API's gate: the same per-citizen limit and bounded worker pool.
        issued = await frame.services.issuance.issue(service, citizen, kind, REQUEST_ID.get())
        return frame.redirect(page, "/me/certificates", issued=issued.record.code)

    async def download(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _certificates(frame)
        code = str(request.path_params["code"])[:64]
        record, pdf = await run_in_threadpool(service.pdf_for, citizen, code)
        response = Response(pdf, media_type="application/pdf")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="certificate-{record.code}.pdf"'
        )
        return frame.finish(page, response)

    # -- consents

    async def consents(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _consents(frame)
        found = await run_in_threadpool(service.consents_of, citizen)
        words = frame.words(page)
        rows = [_consent_row(service, c, words) for c in found]
        context = {
            "consents": rows,
            "notice": request.query_params.get("done", ""),
        }
        return frame.render(page, "me_consents.html", context)

    async def revoke(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        await frame.form(page)
        service = _consents(frame)
        consent_id = str(request.path_params["consent_id"])[:64]
        await run_in_threadpool(service.revoke, citizen, consent_id, REQUEST_ID.get())
        return frame.redirect(page, "/me/consents", done="revoked")

    async def receipt(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _consents(frame)
        consent_id = str(request.path_params["consent_id"])[:64]
        body, token = await run_in_threadpool(service.receipt, citizen, consent_id)
        data = json.dumps({"receipt": body, "jws": token}, ensure_ascii=False, indent=2)
        response = Response(data.encode("utf-8"), media_type="application/json")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="consent-receipt-{consent_id}.json"'
        )
        return frame.finish(page, response)

    # -- consent requests

    async def requests(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _consents(frame)
        found = await run_in_threadpool(service.requests_of, citizen)
        words = frame.words(page)
        rows = [_request_row(service, r, words) for r in found]
        context = {
            "pending": [r for r in rows if r["status"] == "pending"],
            "decided": [r for r in rows if r["status"] != "pending"],
            "notice": request.query_params.get("done", ""),
        }
        return frame.render(page, "me_requests.html", context)

    async def show_request(
        page: Page,
        citizen: CitizenPrincipal,
        request_id: str,
        *,
        errors: dict[str, str],
        chosen: dict[str, str],
        status: int = 200,
    ) -> Response:
        service = _consents(frame)
        found = await run_in_threadpool(service.get_request, citizen, request_id)
        words = frame.words(page)
        row = _request_row(service, found, words)
        items: list[dict[str, Any]] = []
        if row["status"] == "pending":
            preview = await run_in_threadpool(
                service.preview, citizen, request_id, REQUEST_ID.get()
            )
            items = [
                {
                    "evidence_type": item.evidence_type,
                    "values": [
                        (words.field(item.evidence_type, k), words.value(item.evidence_type, k, v))
                        for k, v in item.evidence.items()
                    ],
                }
                for item in preview.items
            ]
        default_until = today_athens() + dt.timedelta(days=90)
        max_until = today_athens() + service.policy.max_validity - dt.timedelta(days=1)
        context = {
            "req": row,
            "items": items,
            "errors": errors,
            "chosen": chosen.get("decision", ""),
            "until": chosen.get("until") or default_until.strftime("%d/%m/%Y"),
            "max_until": max_until,
        }
        return frame.render(page, "me_request.html", context, status=status)

    async def request_page(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        request_id = str(request.path_params["request_id"])[:64]
        return await show_request(page, citizen, request_id, errors={}, chosen={})

    async def decide(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        request_id = str(request.path_params["request_id"])[:64]
        service = _consents(frame)
        decision = form.get("decision")
        chosen = {"decision": decision, "until": form.get("until")[:10]}
        if decision not in ("until", "once", "refuse"):
            errors = {"decision": page.t("decision_missing")}
            return await show_request(
                page, citizen, request_id, errors=errors, chosen=chosen, status=422
            )
        valid_until: dt.datetime | None = None
        if decision == "until":
            start = athens_day(form.get("until"))
            if start is None:
                errors = {"until": page.t("decision_bad_date")}
                return await show_request(
                    page, citizen, request_id, errors=errors, chosen=chosen, status=422
                )
            # The consent lasts to the end of the chosen day, Athens time.
            valid_until = start + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        try:
            await run_in_threadpool(
                lambda: service.decide(
                    citizen,
                    request_id,
                    approve=decision != "refuse",
                    valid_until=valid_until,
                    once=decision == "once",
                    http_request_id=REQUEST_ID.get(),
                )
            )
        except ValidationFailed:
            errors = {"until": page.t("decision_bad_date")}
            return await show_request(
                page, citizen, request_id, errors=errors, chosen=chosen, status=422
            )
        if decision == "refuse":
            return frame.redirect(page, "/me/requests", done="refused")
        return frame.redirect(page, "/me/consents", done="granted")

    # -- history and checks

    async def history(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _consents(frame)
        cursor = request.query_params.get("cursor") or None
        found = await run_in_threadpool(
            lambda: service.accesses(citizen, cursor=cursor, limit=_PAGE)
        )
        words = frame.words(page)
        rows = [_entry_row(service.describe_entry(e), words) for e in found.items]
        context = {"rows": rows, "next": found.next, "first": cursor is None}
        return frame.render(page, "me_history.html", context)

    async def checks(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        audit = _audit(frame)
        cursor = request.query_params.get("cursor") or None
        query = EntryQuery(citizen=citizen.subjects[0], action="certificate.verify")
        # No auditor is named: the citizen reading their own entries is not an audit.
        found = await run_in_threadpool(lambda: audit.search(query, cursor=cursor, limit=_PAGE))
        words = frame.words(page)
        rows = [
            {
                "time": e.entry.get("time"),
                "verifier": words.actor(e.entry.get("actor")),
                "evidence_type": words.evidence_type(e.entry.get("evidence_type")),
            }
            for e in found.items
        ]
        context = {"rows": rows, "next": found.next, "first": cursor is None}
        return frame.render(page, "me_checks.html", context)

    return [
        Route("/me", home, methods=["GET"]),
        Route("/me/certificates", certificates, methods=["GET"]),
        Route("/me/certificates", issue, methods=["POST"]),
        Route("/me/certificates/{code}/pdf", download, methods=["GET"]),
        Route("/me/consents", consents, methods=["GET"]),
        Route("/me/consents/{consent_id}/revoke", revoke, methods=["POST"]),
        Route("/me/consents/{consent_id}/receipt", receipt, methods=["GET"]),
        Route("/me/requests", requests, methods=["GET"]),
        Route("/me/requests/{request_id}", request_page, methods=["GET"]),
        Route("/me/requests/{request_id}", decide, methods=["POST"]),
        Route("/me/history", history, methods=["GET"]),
        Route("/me/checks", checks, methods=["GET"]),
    ]
