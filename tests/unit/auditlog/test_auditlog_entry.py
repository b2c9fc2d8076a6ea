"""The log entry: its JSON shape, its canonical bytes and its leaf hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from hub.domain.auditlog.entry import (
    KNOWN_ACTIONS,
    AccessEntry,
    Actor,
    canonical_json,
    entry_leaf_hash,
)
from hub.errors import ValidationFailed

ATHENS = dt.timezone(dt.timedelta(hours=3))


def _entry(**overrides: Any) -> AccessEntry:
    values: dict[str, Any] = {
        "time": dt.datetime(2025, 3, 1, 12, 30, 5, 123456, tzinfo=dt.UTC),
        "actor": Actor("agency", "agency:efka", official="official-17"),
        "action": "evidence.request",
        "outcome": "granted",
        "subject": "cit:7f3a",
        "evidence_type": "tax-clearance",
        "purpose": "social-benefit",
        "legal_basis": "law-4727/2020",
        "consent_id": None,
        "fields": ("tax_status", "afm", "tax_status"),
        "reason": None,
        "request_id": "req-1",
        "response_digest": "sha256:" + "ab" * 32,
    }
    values.update(overrides)
    return AccessEntry(**values)


def test_json_shape() -> None:
    obj = _entry().to_json_obj()
    assert obj == {
        "v": 3,
        "time": "2025-03-01T12:30:05.123456Z",
        "actor": {"kind": "agency", "id": "agency:efka", "official": "official-17"},
        "subject": "cit:7f3a",
        "action": "evidence.request",
        "evidence_type": "tax-clearance",
        "purpose": "social-benefit",
        "legal_basis": "law-4727/2020",
        "consent_id": None,
        "fields": ["afm", "tax_status"],
        "outcome": "granted",
        "reason": None,
        "request_id": "req-1",
        "response_digest": "sha256:" + "ab" * 32,
        "case_reference": None,
        "parameters": {},
        "client_request_id": None,
        "catalog_version": None,
    }


def test_version_2_entries_keep_their_bytes() -> None:
    # An entry logged before the catalogue version was recorded reads back
    # with exactly its own keys, so its leaf hash still matches the tree.
    obj = _entry(catalog_version="sha256:" + "cd" * 32).to_json_obj()
    assert obj["catalog_version"] == "sha256:" + "cd" * 32
    del obj["catalog_version"]
    obj["v"] = 2
    entry = AccessEntry.from_json_obj(obj)
    assert entry.to_json_obj() == obj
    assert entry.leaf_hash() == entry_leaf_hash(obj)
    with pytest.raises(ValidationFailed):
        AccessEntry.from_json_obj({**obj, "catalog_version": None})
    with pytest.raises(ValidationFailed):
        _entry(v=2, catalog_version="sha256:00")


def test_version_1_entries_keep_their_bytes() -> None:
    # An entry logged before version 2 is read back and re-serialised with
    # exactly its own keys, so its leaf hash still matches the tree.
    obj = _entry().to_json_obj()
    for key in ("case_reference", "parameters", "client_request_id", "catalog_version"):
        del obj[key]
    obj["v"] = 1
    entry = AccessEntry.from_json_obj(obj)
    assert entry.to_json_obj() == obj
    assert entry.leaf_hash() == entry_leaf_hash(obj)
    with pytest.raises(ValidationFailed):
        AccessEntry.from_json_obj({**obj, "case_reference": None})
    with pytest.raises(ValidationFailed):
        _entry(v=1, case_reference="A-1")


def test_accountability_fields_round_trip() -> None:
    entry = _entry(
        case_reference="ΑΠ-2025/17",
        parameters={"municipality": "Αθήνα"},
        client_request_id="their-id",
    )
    obj = entry.to_json_obj()
    assert obj["parameters"] == {"municipality": "Αθήνα"}
    assert AccessEntry.from_json_obj(obj) == entry
    with pytest.raises(ValidationFailed):
        _entry(parameters={"municipality": 3})


def test_canonical_bytes_are_rfc8785() -> None:
    entry = _entry()
    raw = entry.canonical_bytes()
    # Keys sorted, no whitespace, and the bytes parse back to the same object.
    assert raw.startswith(b'{"action":"evidence.request","actor":{"id":"agency:efka"')
    assert b" " not in raw.replace(b"tax-clearance", b"")
    assert json.loads(raw) == entry.to_json_obj()
    assert entry.leaf_hash() == hashlib.sha256(b"\x00" + raw).digest()
    assert entry_leaf_hash(json.loads(json.dumps(entry.to_json_obj(), indent=2))) == (
        entry.leaf_hash()
    )


def test_time_is_normalised_to_utc() -> None:
    local = dt.datetime(2025, 3, 1, 15, 30, 5, 123456, tzinfo=ATHENS)
    assert _entry(time=local) == _entry()
    assert _entry(time=local).leaf_hash() == _entry().leaf_hash()
    whole = _entry(time=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    assert whole.to_json_obj()["time"] == "2025-03-01T00:00:00.000000Z"


def test_round_trip_through_json() -> None:
    for entry in (
        _entry(),
        _entry(actor=Actor("citizen", "cit:7f3a"), subject=None, fields=()),
        _entry(action="consent.revoke", outcome="denied", reason="expired"),
    ):
        obj = json.loads(json.dumps(entry.to_json_obj()))
        assert AccessEntry.from_json_obj(obj) == entry


def test_every_field_changes_the_leaf_hash() -> None:
    base = _entry().leaf_hash()
    changes: list[dict[str, Any]] = [
        {"time": dt.datetime(2025, 3, 1, 12, 30, 5, 123457, tzinfo=dt.UTC)},
        {"actor": Actor("agency", "agency:efka")},
        {"action": "certificate.issue"},
        {"outcome": "denied"},
        {"subject": None},
        {"evidence_type": "other"},
        {"purpose": "other"},
        {"legal_basis": "other"},
        {"consent_id": "c-1"},
        {"fields": ("afm",)},
        {"reason": "because"},
        {"request_id": "req-2"},
        {"response_digest": None},
    ]
    hashes = {_entry(**change).leaf_hash() for change in changes}
    assert base not in hashes
    assert len(hashes) == len(changes)


@pytest.mark.parametrize(
    "overrides",
    [
        {"time": dt.datetime(2025, 3, 1)},  # A naive time is the point.
        {"action": "Evidence Request"},
        {"action": "evidence"},
        {"outcome": "maybe"},
        {"fields": "afm"},
        {"fields": ("afm", 3)},
        {"subject": 17},
    ],
)
def test_invalid_entries_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        _entry(**overrides)


@pytest.mark.parametrize(
    "args",
    [("robot", "x", None), ("agency", "", None), ("agency", "x", "")],
)
def test_invalid_actors_are_refused(args: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationFailed):
        Actor(*args)


def _obj(**changes: Any) -> dict[str, Any]:
    obj = _entry().to_json_obj()
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    "obj",
    [
        [],
        _obj(extra=1),
        _obj(v=4),
        _obj(v=2),
        _obj(v=1),
        _obj(v=True),
        _obj(time="2025-03-01T12:30:05"),
        _obj(time="yesterday Z"),
        _obj(time=5),
        _obj(actor={"kind": "agency"}),
        _obj(actor={"kind": "agency", "id": "x", "official": None, "extra": 1}),
        _obj(actor={"kind": "robot", "id": "x", "official": None}),
        _obj(fields="afm"),
        _obj(fields=[1]),
        _obj(outcome="maybe"),
        _obj(purpose=3),
        _obj(action=""),
    ],
)
def test_from_json_obj_is_strict(obj: Any) -> None:
    with pytest.raises(ValidationFailed):
        AccessEntry.from_json_obj(obj)


def test_canonical_json_refuses_what_json_cannot_say() -> None:
    with pytest.raises(ValidationFailed):
        canonical_json({"n": float("nan")})
    with pytest.raises(ValidationFailed):
        canonical_json({"n": 2**60})


def test_known_actions_have_the_accepted_shape() -> None:
    for action in KNOWN_ACTIONS:
        _entry(action=action)
