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
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.audit.models import EntryQuery, LoggedEntry
from hub.audit.service import AuditService
from hub.domain.auditlog.checkpoint import verify_note
from hub.domain.auditlog.entry import KNOWN_ACTIONS
from hub.domain.auditlog.errors import NoteError
from hub.domain.auditlog.merkle import verify_inclusion
from hub.errors import NotFound
from hub.logs import REQUEST_ID
from hub.web._frame import Frame, athens_day
from hub.web._words import Words, moment

__all__ = ["routes"]

_PAGE = 25
_FILTERS = ("citizen", "agency", "purpose", "action", "outcome", "since", "until")
_OUTCOMES = ("granted", "denied", "error")
_EXTRA_ACTIONS = ("consent.preview", "consent.refuse", "audit.search", "audit.read")
#: The order an auditor reads an entry in: what happened first, the references last.
_ORDER = (
    "time", "actor", "action", "subject", "evidence_type", "purpose", "legal_basis",
    "consent_id", "fields", "outcome", "reason", "request_id", "response_digest", "v",
)  # fmt: skip
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


def _entry_fields(entry: Mapping[str, Any], words: Words) -> list[tuple[str, str, bool]]:
    """An entry's parts as (label, words, is-a-code): an auditor reads no JSON.

    Codes that are references (a request id, a digest) stay as they are, set
    in a monospace font; everything the catalogue names is shown by its words.
    """
    purpose = entry.get("purpose")
    kind = entry.get("evidence_type")
    fields = ", ".join(words.field(kind, f) for f in entry.get("fields") or [])
    shown: dict[str, tuple[str, bool]] = {
        "time": (moment(entry.get("time"), words.language), False),
        "actor": (words.actor(entry.get("actor")), False),
        "subject": (words.subject(entry.get("subject")), False),
        "action": (words.term("actions", entry.get("action")), False),
        "evidence_type": (words.evidence_type(kind), False),
        "purpose": (words.purpose(purpose), False),
        "legal_basis": (words.legal_basis(entry.get("legal_basis"), purpose), False),
        "fields": (fields or "—", False),
        "outcome": (words.term("outcomes", entry.get("outcome")), False),
        "reason": (words.term("reasons", entry["reason"]) if entry.get("reason") else "—", False),
    }
    rows = []
    for name in sorted(entry, key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n)):
        value = entry[name]
        if name in shown:
            text, is_code = shown[name]
        else:
            text, is_code = ("—" if value is None else str(value)), True
            if isinstance(value, dict | list):
                # A part this page does not know yet: its items as words, never JSON.
                text = _plain(value)
        rows.append((words.term("entry_fields", name), text, is_code))
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return "—" if value is None else str(value)


def routes(frame: Frame) -> list[Route]:  # noqa: PLR0915 - one closure per page reads best
    catalog = frame.services.catalog.catalog

    def choices(words: Words) -> dict[str, Any]:
        """The filters' options: each code with its words, in the words' order."""

        def by_words(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
            return sorted(pairs, key=lambda pair: pair[1])

        return {
            "agencies": by_words((a, words.agency(a)) for a in catalog.agencies),
            "purposes": by_words((p, words.purpose(p)) for p in catalog.purposes),
            "actions": by_words(
                (a, words.term("actions", a)) for a in {*KNOWN_ACTIONS, *_EXTRA_ACTIONS}
            ),
            "outcomes": [(o, words.term("outcomes", o)) for o in _OUTCOMES],
        }

    def row(found: LoggedEntry, words: Words) -> dict[str, Any]:
        entry = found.entry
        return {
            "index": found.index,
            "time": entry.get("time"),
            "who": words.actor(entry.get("actor")),
            "action": words.term("actions", entry.get("action")),
            "subject": words.subject(entry.get("subject")),
            "purpose": words.purpose(entry.get("purpose")),
            "outcome": entry.get("outcome") or "error",
            "outcome_text": words.term("outcomes", entry.get("outcome")),
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
        words = frame.words(page)
        context: dict[str, Any] = {"values": values, "errors": errors, **choices(words)}
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
        rows = [row(e, words) for e in found.items]
        context.update(rows=rows, next=found.next, first=cursor is None, keep=keep)
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
            "fields": _entry_fields(found.entry, frame.words(page)),
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
