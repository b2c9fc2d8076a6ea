"""``/audit``: the auditor searches the access log and checks its proofs.

The search and the entry page call the :class:`AuditService` with the
auditor's name, so each is itself logged, as through the API. An entry's
page does what an independent auditor would: it takes the latest signed
checkpoint, checks the note's signature with the log key, asks for the
inclusion proof of the entry in that tree, and recomputes the root with
:func:`~hub.domain.auditlog.merkle.verify_inclusion`. The verdict shown is
that computation's, not the storage's word.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.domain.auditlog.checkpoint import verify_note
from hub.domain.auditlog.entry import KNOWN_ACTIONS
from hub.domain.auditlog.errors import NoteError
from hub.domain.auditlog.merkle import verify_inclusion
from hub.domain.auditlog.service import AuditService, EntryQuery
from hub.errors import NotFound
from hub.logs import REQUEST_ID
from hub.web._frame import Frame, athens_day

__all__ = ["routes"]

_PAGE = 25
_FILTERS = ("citizen", "agency", "purpose", "action", "outcome", "since", "until")
_OUTCOMES = ("granted", "denied", "error")
_EXTRA_ACTIONS = ("consent.preview", "consent.refuse", "audit.search", "audit.read")
_SUBJECT = re.compile(r"^(afm:\d{9}|amka:\d{11})$")


def _audit(frame: Frame) -> AuditService:
    return frame.services.audit


def _citizen(text: str) -> str | None:
    """``afm:…``/``amka:…`` from what the auditor typed; ``None`` if it is neither."""
    value = text.strip()
    if value.isdigit() and len(value) == 9:
        return f"afm:{value}"
    if value.isdigit() and len(value) == 11:
        return f"amka:{value}"
    return value if _SUBJECT.match(value) else None


def routes(frame: Frame) -> list[Route]:  # noqa: PLR0915 - one closure per page reads best
    catalog = frame.services.catalog.catalog

    def choices() -> dict[str, Any]:
        return {
            "agencies": sorted((a.id, a.name) for a in catalog.agencies.values()),
            "purposes": sorted(catalog.purposes),
            "actions": sorted({*KNOWN_ACTIONS, *_EXTRA_ACTIONS}),
            "outcomes": _OUTCOMES,
        }

    async def search(request: Request) -> Response:
        page = frame.begin(request)
        auditor = frame.require_auditor(page)
        params = request.query_params
        values = {k: params.get(k, "").strip()[:64] for k in _FILTERS}
        errors: dict[str, str] = {}
        citizen = None
        if values["citizen"]:
            citizen = _citizen(values["citizen"])
            if citizen is None:
                errors["citizen"] = page.t("audit_bad_citizen")
        since = athens_day(values["since"]) if values["since"] else None
        if values["since"] and since is None:
            errors["since"] = page.t("audit_bad_date")
        until_day = athens_day(values["until"]) if values["until"] else None
        if values["until"] and until_day is None:
            errors["until"] = page.t("audit_bad_date")
        # "Up to and including" a day: the query's end is exclusive, so the next midnight.
        until = until_day + dt.timedelta(days=1) if until_day else None
        if since and until and since >= until:
            errors["until"] = page.t("audit_bad_range")
        context: dict[str, Any] = {"values": values, "errors": errors, **choices()}
        if errors:
            context.update(rows=[], next=None, first=True)
            return frame.render(page, "audit.html", context, status=422)
        query = EntryQuery(
            citizen=citizen,
            agency=values["agency"] or None,
            purpose=values["purpose"] or None,
            action=values["action"] or None,
            outcome=values["outcome"] or None,
            since=since,
            until=until,
        )
        cursor = params.get("cursor") or None
        found = await run_in_threadpool(
            lambda: _audit(frame).search(
                query, cursor=cursor, limit=_PAGE, auditor=auditor.name, request_id=REQUEST_ID.get()
            )
        )
        keep = {k: v for k, v in values.items() if v}
        context.update(rows=list(found.items), next=found.next, first=cursor is None, keep=keep)
        return frame.render(page, "audit.html", context)

    def prove(audit: AuditService, index: int, leaf: bytes) -> dict[str, Any]:
        """Check the entry against the latest signed checkpoint, as an outsider would."""
        try:
            latest = audit.latest_checkpoint()
        except NotFound:
            return {"state": "no-checkpoint"}
        try:
            checkpoint = verify_note(latest.note, audit.verifier)
        except NoteError:
            return {"state": "bad-note", "size": latest.size}
        if index >= checkpoint.size:
            return {"state": "pending", "size": checkpoint.size}
        proof = audit.inclusion(index, checkpoint.size)
        ok = verify_inclusion(index, checkpoint.size, leaf, proof.hashes, checkpoint.root_hash)
        return {
            "state": "ok" if ok else "bad",
            "size": checkpoint.size,
            "root": checkpoint.root_hash.hex(),
            "at": latest.created_at,
            "hashes": [h.hex() for h in proof.hashes],
        }

    async def entry(request: Request) -> Response:
        page = frame.begin(request)
        auditor = frame.require_auditor(page)
        raw = str(request.path_params["index"])
        if not raw.isdigit() or len(raw) > 18:
            raise NotFound("The access log has no such entry.")
        index = int(raw)
        audit = _audit(frame)
        found = await run_in_threadpool(
            lambda: audit.entry(index, auditor=auditor.name, request_id=REQUEST_ID.get())
        )
        proof = await run_in_threadpool(prove, audit, index, found.leaf_hash)
        context = {
            "entry": found,
            "fields": sorted(found.entry.items()),
            "leaf": found.leaf_hash.hex(),
            "proof": proof,
        }
        return frame.render(page, "audit_entry.html", context)

    async def checkpoints(request: Request) -> Response:
        page = frame.begin(request)
        frame.require_auditor(page)
        cursor = request.query_params.get("cursor") or None
        found = await run_in_threadpool(
            lambda: _audit(frame).checkpoint_history(cursor=cursor, limit=_PAGE)
        )
        context = {"rows": list(found.items), "next": found.next, "first": cursor is None}
        return frame.render(page, "audit_checkpoints.html", context)

    async def make_checkpoint(request: Request) -> Response:
        page = frame.begin(request)
        frame.require_auditor(page)
        form = await frame.form(page)
        await run_in_threadpool(_audit(frame).make_checkpoint)
        back = form.get("back")
        if back.isdigit():
            return frame.redirect(page, f"/audit/entries/{int(back)}")
        return frame.redirect(page, "/audit/checkpoints")

    return [
        Route("/audit", search, methods=["GET"]),
        Route("/audit/entries/{index}", entry, methods=["GET"]),
        Route("/audit/checkpoints", checkpoints, methods=["GET"]),
        Route("/audit/checkpoints", make_checkpoint, methods=["POST"]),
    ]
