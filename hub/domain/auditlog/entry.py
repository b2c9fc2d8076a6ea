"""One access to citizen data, as an entry of the tamper-evident log.

Every exchange the hub brokers (an evidence request, a consent given or
withdrawn, a certificate issued, revoked or checked) and every refusal
becomes an :class:`AccessEntry`. The tree commits to the entry's bytes, so
those bytes must be reproducible by anyone, in any language, from the JSON
that an export carries: the entry is serialised with the JSON
Canonicalization Scheme (RFC 8785), and its leaf hash is the RFC 9162 leaf
hash of those bytes. Optional values are written as ``null`` rather than left
out, so that every entry of a version has the same keys.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast, get_args

from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.canonical import canonical_json
from hub.errors import ValidationFailed

__all__ = [
    "ENTRY_VERSION",
    "KNOWN_ACTIONS",
    "NOT_OWNER",
    "AccessEntry",
    "Actor",
    "ActorKind",
    "Outcome",
    "canonical_json",
    "entry_leaf_hash",
]

#: Bumped when the set of keys changes; old entries keep their own version.
ENTRY_VERSION: Final = 3

ActorKind = Literal["agency", "citizen", "verifier", "auditor", "operator", "system"]
Outcome = Literal["granted", "denied", "error"]

#: The actions the hub writes today. Others of the same dotted shape are
#: accepted, so that a new feature does not need a change here first.
KNOWN_ACTIONS: Final = frozenset(
    {
        "evidence.request",
        "consent.request",
        "consent.grant",
        "consent.revoke",
        "certificate.issue",
        "certificate.revoke",
        "certificate.verify",
        "log.checkpoint",
        # Refusals of someone else's consent, request or certificate (NOT_OWNER).
        "consent.status",
        "consent.view",
        "consent.decide",
        "consent.receipt",
        "certificate.download",
    }
)

#: The ``reason`` of a denial for reaching at someone else's consent, consent
#: request or certificate: answered as "not found", logged as what it was.
NOT_OWNER: Final = "not-owner"

_ACTOR_KINDS: Final = frozenset(get_args(ActorKind))
_OUTCOMES: Final = frozenset(get_args(Outcome))
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_KEYS_V1: Final = frozenset(
    {
        "v",
        "time",
        "actor",
        "subject",
        "action",
        "evidence_type",
        "purpose",
        "legal_basis",
        "consent_id",
        "fields",
        "outcome",
        "reason",
        "request_id",
        "response_digest",
    }
)
#: The keys version 2 added to those of version 1.
_ADDED_V2: Final = frozenset({"case_reference", "parameters", "client_request_id"})
#: Version 3 names the catalogue (its content digest) the access was decided under.
_ADDED_V3: Final = frozenset({"catalog_version"})
_KEYS: Final = {1: _KEYS_V1, 2: _KEYS_V1 | _ADDED_V2, 3: _KEYS_V1 | _ADDED_V2 | _ADDED_V3}


def entry_leaf_hash(obj: Mapping[str, Any]) -> bytes:
    """The leaf hash of an entry given as a JSON object, e.g. from an export."""
    return leaf_hash(canonical_json(obj))


def _format_time(value: dt.datetime) -> str:
    # Always microseconds, always "Z": one instant has one spelling.
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: object) -> dt.datetime:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValidationFailed("time is an ISO-8601 UTC timestamp ending in Z")
    try:
        value = dt.datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise ValidationFailed("time is an ISO-8601 UTC timestamp ending in Z") from exc
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"{key} must be a string or null")
    return value


def _req_str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"{key} must be a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: an agency (and its official), a citizen, a verifier, …"""

    kind: ActorKind
    id: str
    official: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _ACTOR_KINDS:
            raise ValidationFailed(f"unknown actor kind {self.kind!r}")
        if not isinstance(self.id, str) or not self.id:
            raise ValidationFailed("an actor has a non-empty id")
        if self.official is not None and (not isinstance(self.official, str) or not self.official):
            raise ValidationFailed("an official, when given, is a non-empty string")

    def to_json_obj(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "official": self.official}

    @classmethod
    def from_json_obj(cls, obj: object) -> Actor:
        if not isinstance(obj, Mapping) or set(obj) - {"kind", "id", "official"}:
            raise ValidationFailed("an actor is an object with kind, id and official")
        kind = _req_str(obj, "kind")
        if kind not in _ACTOR_KINDS:
            raise ValidationFailed(f"unknown actor kind {kind!r}")
        return cls(cast(ActorKind, kind), _req_str(obj, "id"), _opt_str(obj, "official"))


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One logged access. ``fields`` are kept sorted and without repeats.

    ``parameters`` maps purpose parameter names to the values that shaped
    the answer; ``v`` is the entry's version, the current one unless an
    older entry is being read back.
    """

    time: dt.datetime
    actor: Actor
    action: str
    outcome: Outcome
    subject: str | None = None
    evidence_type: str | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    consent_id: str | None = None
    fields: tuple[str, ...] = ()
    reason: str | None = None
    request_id: str | None = None
    response_digest: str | None = None
    case_reference: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    client_request_id: str | None = None
    #: The digest of the catalogue in force (``sha256:…``): which purposes,
    #: fields and mappings the decision rested on. Stamped by the log.
    catalog_version: str | None = None
    v: int = ENTRY_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.time, dt.datetime) or self.time.utcoffset() is None:
            raise ValidationFailed("time must be a timezone-aware datetime")
        object.__setattr__(self, "time", self.time.astimezone(dt.UTC))
        if not isinstance(self.action, str) or not _ACTION.fullmatch(self.action):
            raise ValidationFailed("action is a dotted lower-case name such as evidence.request")
        if self.outcome not in _OUTCOMES:
            raise ValidationFailed(f"unknown outcome {self.outcome!r}")
        if self.v not in _KEYS or isinstance(self.v, bool):
            raise ValidationFailed("unsupported entry version")
        fields: object = self.fields
        # A bare string is iterable too; refuse it rather than log its letters.
        if isinstance(fields, str) or not all(isinstance(f, str) for f in self.fields):
            raise ValidationFailed("fields is a list of field names")
        object.__setattr__(self, "fields", tuple(sorted(set(self.fields))))
        for name in (
            "subject",
            "evidence_type",
            "purpose",
            "legal_basis",
            "consent_id",
            "reason",
            "request_id",
            "response_digest",
            "case_reference",
            "client_request_id",
            "catalog_version",
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationFailed(f"{name} must be a string or None")
        parameters: object = self.parameters
        if not isinstance(parameters, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parameters.items()
        ):
            raise ValidationFailed("parameters map names to strings")
        # A plain, sorted dict: equal entries compare equal whatever was passed.
        object.__setattr__(self, "parameters", dict(sorted(parameters.items())))
        if self.v == 1 and (self.case_reference or self.parameters or self.client_request_id):
            raise ValidationFailed("a version-1 entry has no accountability fields")
        if self.v < 3 and self.catalog_version is not None:
            raise ValidationFailed("an entry before version 3 names no catalogue version")

    def to_json_obj(self) -> dict[str, Any]:
        """The entry as a JSON object: what exports carry and hashing reads."""
        obj: dict[str, Any] = {
            "v": self.v,
            "time": _format_time(self.time),
            "actor": self.actor.to_json_obj(),
            "subject": self.subject,
            "action": self.action,
            "evidence_type": self.evidence_type,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "consent_id": self.consent_id,
            "fields": list(self.fields),
            "outcome": self.outcome,
            "reason": self.reason,
            "request_id": self.request_id,
            "response_digest": self.response_digest,
        }
        if self.v >= 2:
            obj["case_reference"] = self.case_reference
            obj["parameters"] = dict(self.parameters)
            obj["client_request_id"] = self.client_request_id
        if self.v >= 3:
            obj["catalog_version"] = self.catalog_version
        return obj

    @classmethod
    def from_json_obj(cls, obj: object) -> AccessEntry:
        """Read an entry written by :meth:`to_json_obj`; strict about keys."""
        if not isinstance(obj, Mapping):
            raise ValidationFailed("an entry is a JSON object")
        version = obj.get("v")
        if isinstance(version, bool) or version not in _KEYS:
            raise ValidationFailed("unsupported entry version")
        if set(obj) != _KEYS[version]:
            raise ValidationFailed("the entry's keys are not those of its version")
        fields = obj["fields"]
        if not isinstance(fields, list):
            raise ValidationFailed("fields is a list of field names")
        outcome = _req_str(obj, "outcome")
        if outcome not in _OUTCOMES:
            raise ValidationFailed(f"unknown outcome {outcome!r}")
        parameters = obj.get("parameters", {})
        if not isinstance(parameters, Mapping):
            raise ValidationFailed("parameters map names to strings")
        return cls(
            time=_parse_time(obj["time"]),
            actor=Actor.from_json_obj(obj["actor"]),
            action=_req_str(obj, "action"),
            outcome=cast(Outcome, outcome),
            subject=_opt_str(obj, "subject"),
            evidence_type=_opt_str(obj, "evidence_type"),
            purpose=_opt_str(obj, "purpose"),
            legal_basis=_opt_str(obj, "legal_basis"),
            consent_id=_opt_str(obj, "consent_id"),
            fields=_str_tuple(fields),
            reason=_opt_str(obj, "reason"),
            request_id=_opt_str(obj, "request_id"),
            response_digest=_opt_str(obj, "response_digest"),
            case_reference=_opt_str(obj, "case_reference"),
            parameters=parameters,
            client_request_id=_opt_str(obj, "client_request_id"),
            catalog_version=_opt_str(obj, "catalog_version"),
            v=version,
        )

    def canonical_bytes(self) -> bytes:
        """The RFC 8785 bytes the tree commits to."""
        return canonical_json(self.to_json_obj())

    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash of :meth:`canonical_bytes`."""
        return leaf_hash(self.canonical_bytes())


def _str_tuple(values: Iterable[object]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValidationFailed("fields is a list of field names")
        out.append(value)
    return tuple(out)
