"""The values of the audit service: logged entries, checkpoints, proofs, pages, policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from hub.errors import ValidationFailed

__all__ = [
    "CheckpointPage",
    "CheckpointPolicy",
    "ConsistencyProof",
    "EntryPage",
    "EntryQuery",
    "InclusionProof",
    "LoggedEntry",
    "StoredCheckpoint",
]


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as kept by the hub: the note and what it says."""

    size: int
    root_hash: bytes
    note: str
    created_at: dt.datetime

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root_hash.hex(),
            "note": self.note,
            "created_at": self.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """One stored entry: its index, the logged JSON object and its leaf hash."""

    index: int
    entry: dict[str, Any]
    leaf_hash: bytes

    def to_json_obj(self) -> dict[str, Any]:
        """The record an export line and the API carry."""
        return {"index": self.index, "entry": self.entry, "leaf_hash": self.leaf_hash.hex()}


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Filters of an entry search; ``None`` means "any". ``until`` is exclusive."""

    citizen: str | None = None
    agency: str | None = None
    purpose: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValidationFailed(f"{name} must carry a time zone offset")
        if self.since and self.until and self.since >= self.until:
            raise ValidationFailed("since must come before until")


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: tuple[LoggedEntry, ...]
    next: str | None


@dataclass(frozen=True, slots=True)
class CheckpointPage:
    items: tuple[StoredCheckpoint, ...]
    next: str | None


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """PATH(index, D[tree_size]) with the leaf and root it joins."""

    index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: tuple[bytes, ...]

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "root": self.root_hash.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """PROOF(first, D[second]) with the two tree heads it joins."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    hashes: tuple[bytes, ...]

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "first_root": self.first_root.hex(),
            "second_root": self.second_root.hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    """When the hub signs a checkpoint by itself.

    A checkpoint is due once ``every`` entries were appended since the last
    one, or once the last one is ``seconds`` old and entries were appended
    since. Both must be positive.
    """

    every: int = 1000
    seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.every < 1 or self.seconds <= 0:
            raise ValueError("checkpoints need a positive entry count and interval")

    def due(self, size: int, latest: StoredCheckpoint | None, now: dt.datetime) -> bool:
        done = 0 if latest is None else latest.size
        if size <= done:
            return False
        if size - done >= self.every or latest is None:
            return True
        return (now - latest.created_at).total_seconds() >= self.seconds
