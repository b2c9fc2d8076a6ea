"""The audit endpoints: signed checkpoints, the log key, proofs and entry searches.

Checkpoints (latest, witnessed and earlier ones), consistency proofs and the
log key are public, so that anyone can hold the operator to its log: they
carry tree hashes, never an entry. Inclusion proofs and entries need an
auditor token. Handlers
parse, call the :class:`~hub.audit.service.AuditService` and shape
the answer; checkpoint notes and keys travel as ``text/plain``, exactly the
bytes that were signed.
"""

from __future__ import annotations

import datetime as dt

from connexion.context import context
from connexion.lifecycle import ConnexionResponse
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.api._context import services
from hub.api._responses import JsonResult, json_body
from hub.audit.models import EntryQuery
from hub.audit.service import AuditService
from hub.domain.sealing.keystore import (
    KeyPurpose,
    KeyStatus,
    log_key_announcement,
    log_verifier_key,
)
from hub.errors import NotFound, ValidationFailed
from hub.logs import REQUEST_ID

__all__ = [
    "checkpoint_history",
    "consistency_proof",
    "get_entry",
    "inclusion_proof",
    "latest_checkpoint",
    "log_key",
    "log_keys",
    "make_checkpoint",
    "search_entries",
    "witnessed_checkpoint",
]


def _audit() -> AuditService:
    return services().audit


def _auditor() -> str:
    return str(context["token_info"]["sub"])


def _text(body: str) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=200,
        body=body,
        content_type="text/plain; charset=utf-8",
        mimetype="text/plain",
    )


def _time(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} is an RFC 3339 date-time") from exc
    if parsed.utcoffset() is None:
        raise ValidationFailed(f"{name} needs a time zone offset, e.g. Z")
    return parsed


def latest_checkpoint() -> ConnexionResponse:
    return _text(_audit().latest_checkpoint().note)


def witnessed_checkpoint() -> ConnexionResponse:
    witnessing = services().witnessing
    found = None if witnessing is None else witnessing.latest_witnessed()
    if found is None:
        raise NotFound("No checkpoint has a quorum of witness cosignatures yet.")
    return _text(found.note)


def log_key() -> ConnexionResponse:
    return _text(_audit().log_key() + "\n")


def log_keys() -> JsonResult:
    """Every log key (current, retired in overlap) and the last rotation's signed note."""
    store = services().keystore
    keys = []
    for record in store.records():
        if record.purpose is not KeyPurpose.LOG or record.status is KeyStatus.REVOKED:
            continue
        public = store.public_key(record.kid)
        if isinstance(public, Ed25519PublicKey):
            keys.append(
                {
                    "verifierKey": log_verifier_key(public),
                    "status": str(record.status),
                    "since": record.not_before.isoformat(),
                    "until": record.not_after.isoformat() if record.not_after else None,
                }
            )
    return json_body(
        {"keys": keys, "announcement": log_key_announcement(store.keys_dir)},
        headers={"Cache-Control": "public, max-age=300"},
    )


def make_checkpoint() -> JsonResult:
    checkpoint, created = _audit().make_checkpoint()
    return json_body(checkpoint.to_json_obj(), 201 if created else 200)


def checkpoint_history(cursor: str | None = None, limit: int | None = None) -> JsonResult:
    page = _audit().checkpoint_history(cursor=cursor, limit=limit)
    return json_body({"items": [c.to_json_obj() for c in page.items], "next": page.next})


def inclusion_proof(index: int, tree_size: int) -> JsonResult:
    return json_body(_audit().inclusion(index, tree_size).to_json_obj())


def consistency_proof(first: int, second: int) -> JsonResult:
    return json_body(_audit().consistency(first, second).to_json_obj())


def search_entries(
    *,
    citizen: str | None = None,
    agency: str | None = None,
    purpose: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> JsonResult:
    query = EntryQuery(
        citizen=citizen,
        agency=agency,
        purpose=purpose,
        action=action,
        outcome=outcome,
        since=_time("since", since),
        until=_time("until", until),
    )
    page = _audit().search(
        query, cursor=cursor, limit=limit, auditor=_auditor(), request_id=REQUEST_ID.get()
    )
    return json_body({"items": [e.to_json_obj() for e in page.items], "next": page.next})


def get_entry(index: int) -> JsonResult:
    found = _audit().entry(index, auditor=_auditor(), request_id=REQUEST_ID.get())
    return json_body(found.to_json_obj())
