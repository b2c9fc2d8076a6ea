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

from hub.api._certificates import issuance_gate
from hub.domain.auditlog.service import AuditService, EntryQuery
from hub.domain.auth import CitizenPrincipal
from hub.domain.certificates import CertificateService
from hub.domain.consent import Consent, ConsentRequest, ConsentService
from hub.errors import ServiceUnavailable, ValidationFailed
from hub.logs import REQUEST_ID
from hub.web._frame import Frame, Page, athens_day, today_athens

__all__ = ["routes"]

_PAGE = 20


def _consents(frame: Frame) -> ConsentService:
    if frame.services.consents is None:
        raise ServiceUnavailable("This hub keeps no consents.")
    return frame.services.consents


def _certificates(frame: Frame) -> CertificateService:
    if frame.services.certificates is None:
        raise ServiceUnavailable("The hub has no seal key, so it issues no certificates.")
    return frame.services.certificates


def _audit(frame: Frame) -> AuditService:
    if frame.services.audit is None:
        raise ServiceUnavailable("The access log has no signing key.")
    return frame.services.audit


def _titles(frame: Frame, page: Page) -> dict[str, str]:
    """Evidence type id -> its title in the page's language."""
    types = frame.services.catalog.catalog.evidence_types
    return {k: v.title_el if page.language == "el" else v.title_en for k, v in types.items()}


def _agency_name(frame: Frame, agency_id: str | None) -> str:
    if not agency_id:
        return ""
    agency = frame.services.catalog.catalog.agencies.get(agency_id)
    return agency.name if agency else agency_id


def _purpose(frame: Frame, purpose_id: str | None) -> str:
    if not purpose_id:
        return ""
    purpose = frame.services.catalog.catalog.purposes.get(purpose_id)
    return purpose.description if purpose else purpose_id


def _consent_row(frame: Frame, service: ConsentService, consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "status": consent.status(service.now()),
        "agency": _agency_name(frame, consent.agency_id),
        "purpose": _purpose(frame, consent.purpose),
        "fields": service.fields_of(consent),
        "granted_at": consent.granted_at,
        "valid_until": consent.valid_until,
        "once": consent.once,
    }


def _request_row(frame: Frame, service: ConsentService, request: ConsentRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "status": request.status(service.now()),
        "agency": _agency_name(frame, request.agency_id),
        "official": request.official,
        "purpose": _purpose(frame, request.purpose),
        "fields": service.fields_of(request),
        "created_at": request.created_at,
        "expires_at": request.expires_at,
    }


def _entry_row(frame: Frame, described: dict[str, Any]) -> dict[str, Any]:
    actor = described.get("actor") or {}
    return {
        **described,
        "actor_kind": actor.get("kind") or "system",
        "actor_name": (
            (actor.get("name") or _agency_name(frame, actor.get("id")))
            if actor.get("kind") == "agency"
            else actor.get("id")
        ),
    }


def _label(frame: Frame, page: Page, evidence_type: str, name: str) -> str:
    """A field's label from the evidence type's catalogue entry; its name if it has none."""
    found = frame.services.catalog.catalog.evidence_types.get(evidence_type)
    labels = found.labels.get(name) if found else None
    if not labels:
        return name
    return labels[0] if page.language == "el" else labels[1]


def _scalar(value: Any, page: Page) -> str:
    if isinstance(value, bool):
        return page.t("yes") if value else page.t("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "—" if value is None else str(value)


def _value(value: Any, page: Page) -> str | list[str]:
    """An evidence value as a person reads it: a list of records becomes lines."""
    if isinstance(value, list):
        return [
            " · ".join(f"{k}: {_scalar(v, page)}" for k, v in item.items())
            if isinstance(item, dict)
            else _scalar(item, page)
            for item in value
        ] or ["—"]
    return _scalar(value, page)


def _field_labels(frame: Frame, page: Page, fields: dict[str, list[str]]) -> dict[str, list[str]]:
    return {et: [_label(frame, page, et, f) for f in names] for et, names in fields.items()}


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
            "titles": _titles(frame, page),
            "issued": request.query_params.get("issued", "")[:32],
            "errors": {},
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
                "titles": _titles(frame, page),
                "issued": "",
                "errors": {"type": page.t("cert_type_label")},
            }
            return frame.render(page, "me_certificates.html", context, status=422)
        # The API's gate: the same per-citizen limit and bounded worker pool.
        gate = issuance_gate(frame.services)
        issued = await gate.issue(service, citizen, kind, REQUEST_ID.get())
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
        rows = [_consent_row(frame, service, c) for c in found]
        for row in rows:
            row["fields"] = _field_labels(frame, page, row["fields"])
        context = {
            "consents": rows,
            "titles": _titles(frame, page),
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
        rows = [_request_row(frame, service, r) for r in found]
        context = {
            "pending": [r for r in rows if r["status"] == "pending"],
            "decided": [r for r in rows if r["status"] != "pending"],
            "titles": _titles(frame, page),
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
        row = _request_row(frame, service, found)
        items: list[dict[str, Any]] = []
        if row["status"] == "pending":
            preview = await run_in_threadpool(
                service.preview, citizen, request_id, REQUEST_ID.get()
            )
            items = [
                {
                    "evidence_type": item.evidence_type,
                    "values": [
                        (_label(frame, page, item.evidence_type, k), _value(v, page))
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
            "titles": _titles(frame, page),
            "errors": errors,
            "chosen": chosen.get("decision", ""),
            "until": chosen.get("until") or default_until.isoformat(),
            "min_until": (today_athens() + dt.timedelta(days=1)).isoformat(),
            "max_until": max_until.isoformat(),
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
        rows = [_entry_row(frame, service.describe_entry(e)) for e in found.items]
        for row in rows:
            kind = row.get("evidence_type") or ""
            row["field_labels"] = [_label(frame, page, kind, f) for f in row["fields"]]
        context = {
            "rows": rows,
            "next": found.next,
            "first": cursor is None,
            "titles": _titles(frame, page),
        }
        return frame.render(page, "me_history.html", context)

    async def checks(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        audit = _audit(frame)
        cursor = request.query_params.get("cursor") or None
        query = EntryQuery(citizen=citizen.subjects[0], action="certificate.verify")
        # No auditor is named: the citizen reading their own entries is not an audit.
        found = await run_in_threadpool(lambda: audit.search(query, cursor=cursor, limit=_PAGE))
        rows = [
            {
                "index": e.index,
                "time": e.entry.get("time"),
                "verifier": (e.entry.get("actor") or {}).get("id"),
                "evidence_type": e.entry.get("evidence_type"),
            }
            for e in found.items
        ]
        context = {
            "rows": rows,
            "next": found.next,
            "first": cursor is None,
            "titles": _titles(frame, page),
        }
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
