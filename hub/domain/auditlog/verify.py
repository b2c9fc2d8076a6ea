"""Offline verification of an exported access log, and locating tampering.

An auditor receives an export (one record per entry: its index, the entry as
a JSON object, its leaf hash in hex) and a checkpoint signed by the hub. This
module answers, with nothing but those and the hub's published verifier key,
whether the export is exactly the log the checkpoint commits to, and if not,
where it first goes wrong and how: an entry altered, missing, inserted or
moved, a signature that fails, or a history rewritten between two
checkpoints. It returns a :class:`LogVerificationReport` for every fault in the
data; only misuse raises.

An export alone cannot say *which* entry was changed when the forger also
rewrote the leaf hashes consistently: the rebuilt root just differs. The
hub's node store can, because it holds the hash of every complete subtree:
:func:`locate_divergence` walks down from the first subtree that disagrees
to the first leaf that does, reading O(log n) stored nodes.

A report carries every :class:`Finding` a check made, each located (an
index of the log, or a row of a table beside it); the first one also fills
the report's ``fault``, ``first_bad_index`` and ``message``, so that a
reader who wants one verdict has it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.domain.auditlog.checkpoint import Checkpoint, NoteVerifier, verify_note
from hub.domain.auditlog.entry import canonical_json
from hub.domain.auditlog.errors import (
    BadSignature,
    MalformedNote,
    NoteError,
    ProofError,
    TreeIntegrityError,
    UnknownKey,
)
from hub.domain.auditlog.merkle import HASH_SIZE, check_consistency, leaf_hash
from hub.domain.auditlog.tree import Frontier, NodeKey, NodeStore, frontier_keys
from hub.errors import ValidationFailed

__all__ = [
    "Divergence",
    "Fault",
    "Finding",
    "LogVerificationReport",
    "locate_divergence",
    "verify_checkpoint_consistency",
    "verify_export",
]

_sha256 = hashlib.sha256
_NODE_PREFIX = b"\x01"
#: How many leaves after a divergence are compared to tell a shift (an
#: insertion or deletion with renumbering) from an edit.
_SHIFT_WINDOW = 8


class Fault(enum.StrEnum):
    """What kind of fault a verification found."""

    ALTERED = "altered"
    MISSING = "missing"
    INSERTED = "inserted"
    REORDERED = "reordered"
    BAD_SIGNATURE = "bad-signature"
    ROOT_MISMATCH = "root-mismatch"
    INCONSISTENT_CHECKPOINT = "inconsistent-checkpoint"
    MALFORMED = "malformed"
    #: The state that gates access (consents, certificate status) and the
    #: log disagree: a row the log never recorded, or a logged change the
    #: row no longer shows.
    STATE_MISMATCH = "state-mismatch"


@dataclass(frozen=True, slots=True)
class Finding:
    """One fault, located: at ``index`` of the log, or in the row it names."""

    fault: Fault
    index: int | None
    message: str

    def describe(self) -> str:
        """``index 17: column subject differs from its entry``, or the bare message."""
        return self.message if self.index is None else f"index {self.index}: {self.message}"

    def to_json_obj(self) -> dict[str, Any]:
        return {"fault": self.fault.value, "index": self.index, "message": self.message}


@dataclass(frozen=True, slots=True)
class LogVerificationReport:
    """The outcome of a verification, fit for a CLI line or a JSON answer.

    ``findings`` lists every fault found, in the order found (a check that
    stops at its first fault lists one); the other fields describe the first.
    """

    ok: bool
    entries: int
    root: str | None
    checkpoint_size: int | None
    first_bad_index: int | None
    fault: Fault | None
    message: str
    findings: tuple[Finding, ...] = ()

    def __post_init__(self) -> None:
        if not self.ok and not self.findings and self.fault is not None:
            first = Finding(self.fault, self.first_bad_index, self.message)
            object.__setattr__(self, "findings", (first,))

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "root": self.root,
            "checkpoint_size": self.checkpoint_size,
            "first_bad_index": self.first_bad_index,
            "fault": None if self.fault is None else self.fault.value,
            "message": self.message,
            "findings": [finding.to_json_obj() for finding in self.findings],
        }


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where an export first departs from the stored tree.

    ``span`` is 1 when the stored leaf itself differs. When the store's leaf
    hashes were rewritten too, the smallest stored subtree that disagrees
    still pins the fault down to its ``span`` leaves from ``index``.
    """

    index: int
    span: int


def _perfect_hash(leaves: Sequence[bytes], start: int, width: int) -> bytes:
    layer = leaves[start : start + width]
    sha = _sha256
    prefix = _NODE_PREFIX
    while len(layer) > 1:
        layer = [sha(prefix + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0]


def _fetch(store: NodeStore, keys: list[NodeKey]) -> Mapping[NodeKey, bytes]:
    nodes = store.get_nodes(keys)
    missing = [k for k in keys if k not in nodes]
    if missing:
        raise TreeIntegrityError(f"the node store lacks node {missing[0]}")
    return nodes


def locate_divergence(
    leaf_hashes: Sequence[bytes], store: NodeStore, tree_size: int | None = None
) -> Divergence | None:
    """The first leaf where ``leaf_hashes`` and the stored tree disagree.

    Only the first ``tree_size`` leaves are compared (by default, as many
    as both hold). ``None`` means they agree on all of them. The walk reads
    the subtrees along the tree's left-to-right decomposition in one batch,
    then two children per level of the first subtree that differs.
    """
    common = min(len(leaf_hashes), store.size())
    size = common if tree_size is None else tree_size
    if not 0 <= size <= common:
        raise ProofError("the tree size exceeds the export or the stored log")
    leaves = leaf_hashes if isinstance(leaf_hashes, list) else list(leaf_hashes)
    tops = frontier_keys(size)
    stored = _fetch(store, tops) if tops else {}
    for level, index in tops:
        if _perfect_hash(leaves, index << level, 1 << level) != stored[(level, index)]:
            return _descend(leaves, store, level, index)
    return None


def _descend(leaves: Sequence[bytes], store: NodeStore, level: int, index: int) -> Divergence:
    """Walk down from a disagreeing subtree to the first disagreeing leaf."""
    while level > 0:
        left = (level - 1, 2 * index)
        right = (level - 1, 2 * index + 1)
        children = _fetch(store, [left, right])
        width = 1 << (level - 1)
        if _perfect_hash(leaves, left[1] * width, width) != children[left]:
            level, index = left
        elif _perfect_hash(leaves, right[1] * width, width) != children[right]:
            level, index = right
        else:
            # Both children agree, the parent does not: the stored children
            # were rewritten too, under an intact parent.
            return Divergence(index << level, 1 << level)
    return Divergence(index, 1)


def _classify_shift(leaves: Sequence[bytes], store: NodeStore, at: int) -> Fault:
    """Tell an edit at ``at`` from a renumbering insertion, deletion or swap."""
    stored_size = store.size()
    end = min(stored_size, at + _SHIFT_WINDOW + 1)
    keys = [(0, i) for i in range(at, end)]
    nodes = store.get_nodes(keys)
    stored = [nodes.get(k) for k in keys]
    mine = list(leaves[at : at + _SHIFT_WINDOW + 1])

    def matches(ours: Sequence[bytes], theirs: Sequence[bytes | None]) -> bool:
        pairs = list(zip(ours, theirs, strict=False))
        return bool(pairs) and all(a == b for a, b in pairs)

    if len(mine) > 1 and len(stored) > 1 and mine[0] == stored[1] and mine[1] == stored[0]:
        return Fault.REORDERED
    if matches(mine[1:], stored):
        return Fault.INSERTED
    if matches(mine, stored[1:]):
        return Fault.MISSING
    return Fault.ALTERED


def _report(
    *,
    ok: bool = False,
    entries: int,
    root: bytes | None = None,
    checkpoint: Checkpoint | None = None,
    index: int | None = None,
    fault: Fault | None = None,
    message: str,
) -> LogVerificationReport:
    return LogVerificationReport(
        ok=ok,
        entries=entries,
        root=None if root is None else root.hex(),
        checkpoint_size=None if checkpoint is None else checkpoint.size,
        first_bad_index=index,
        fault=fault,
        message=message,
    )


def _open_checkpoint(
    note: str, verifier: NoteVerifier | Iterable[NoteVerifier], origin: str | None
) -> Checkpoint | tuple[Fault, str]:
    try:
        return verify_note(note, verifier, origin=origin)
    except (BadSignature, UnknownKey) as exc:
        return Fault.BAD_SIGNATURE, exc.detail
    except MalformedNote as exc:
        return Fault.MALFORMED, exc.detail
    except NoteError as exc:
        return Fault.BAD_SIGNATURE, exc.detail


def _read_record(record: object) -> tuple[int, Mapping[str, Any], bytes]:
    if not isinstance(record, Mapping):
        raise ValueError("a record is an object")
    index = record.get("index")
    entry = record.get("entry")
    declared = record.get("leaf_hash")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError("a record's index is a non-negative integer")
    if not isinstance(entry, Mapping):
        raise ValueError("a record's entry is an object")
    if not isinstance(declared, str) or len(declared) != 2 * HASH_SIZE:
        raise ValueError("a record's leaf_hash is 64 hexadecimal digits")
    try:
        digest = bytes.fromhex(declared)
    except ValueError as exc:
        raise ValueError("a record's leaf_hash is 64 hexadecimal digits") from exc
    return index, entry, digest


class _Stop(Exception):
    """Carries the report of the first fault out of the verification steps."""

    def __init__(self, report: LogVerificationReport) -> None:
        super().__init__(report.message)
        self.report = report


def verify_export(
    records: Iterable[object],
    checkpoint_note: str,
    verifier: NoteVerifier | Iterable[NoteVerifier],
    *,
    origin: str | None = None,
    earlier_checkpoints: Sequence[str] = (),
    node_store: NodeStore | None = None,
) -> LogVerificationReport:
    """Check an export against a signed checkpoint, offline.

    Each record's entry is re-canonicalised and hashed, the tree is rebuilt
    and its head compared with the checkpoint's. ``earlier_checkpoints`` are
    older signed checkpoints the auditor kept: the export's prefix must
    reproduce each of them, or the log's history was rewritten. With a
    ``node_store`` (a live log), a root mismatch is traced to its first bad
    leaf; without one, the export cannot say which entry was forged.
    """
    verifiers = verifier if isinstance(verifier, NoteVerifier) else list(verifier)
    try:
        checkpoint = _checkpoint_or_stop(checkpoint_note, verifiers, origin, None, "checkpoint")
        earlier = [
            _checkpoint_or_stop(note, verifiers, origin, checkpoint, "earlier checkpoint")
            for note in earlier_checkpoints
        ]
        parsed = _parse_records(list(records), checkpoint)
        wanted = {cp.size for cp in earlier} | {checkpoint.size}
        leaves, roots_at = _rebuild(parsed, checkpoint, wanted)
    except _Stop as stop:
        return stop.report
    return _compare_roots(
        leaves=leaves,
        checkpoint=checkpoint,
        earlier=earlier,
        roots_at=roots_at,
        node_store=node_store,
        count=len(parsed),
    )


def _checkpoint_or_stop(
    note: str,
    verifiers: NoteVerifier | list[NoteVerifier],
    origin: str | None,
    latest: Checkpoint | None,
    label: str,
) -> Checkpoint:
    opened = _open_checkpoint(note, verifiers, origin)
    if isinstance(opened, Checkpoint):
        return opened
    fault, detail = opened
    raise _Stop(_report(entries=0, checkpoint=latest, fault=fault, message=f"{label}: {detail}"))


def _parse_records(
    rows: list[object], checkpoint: Checkpoint
) -> list[tuple[int, Mapping[str, Any], bytes]]:
    parsed: list[tuple[int, Mapping[str, Any], bytes]] = []
    for position, record in enumerate(rows):
        try:
            parsed.append(_read_record(record))
        except ValueError as exc:
            raise _Stop(
                _report(
                    entries=len(rows),
                    checkpoint=checkpoint,
                    index=position,
                    fault=Fault.MALFORMED,
                    message=f"record at position {position}: {exc}",
                )
            ) from exc
    return parsed


def _rebuild(
    parsed: list[tuple[int, Mapping[str, Any], bytes]],
    checkpoint: Checkpoint,
    wanted: set[int],
) -> tuple[list[bytes], dict[int, bytes]]:
    """Check order and leaf hashes; return the leaves and the heads at ``wanted``."""
    count = len(parsed)
    every_index = {index for index, _, _ in parsed}
    roots_at: dict[int, bytes] = {}
    frontier = Frontier()
    if 0 in wanted:
        roots_at[0] = frontier.root()
    leaves: list[bytes] = []
    seen: set[int] = set()
    for index, entry, declared in parsed:
        expected = len(leaves)
        if index != expected:
            fault, message = _order_fault(index, expected, seen, every_index)
            raise _Stop(
                _report(
                    entries=count,
                    checkpoint=checkpoint,
                    index=index if fault == Fault.INSERTED else expected,
                    fault=fault,
                    message=message,
                )
            )
        seen.add(index)
        try:
            actual = leaf_hash(canonical_json(entry))
        except ValidationFailed as exc:
            raise _Stop(
                _report(
                    entries=count,
                    checkpoint=checkpoint,
                    index=index,
                    fault=Fault.MALFORMED,
                    message=f"entry {index} is not canonicalisable JSON",
                )
            ) from exc
        if actual != declared:
            raise _Stop(
                _report(
                    entries=count,
                    checkpoint=checkpoint,
                    index=index,
                    fault=Fault.ALTERED,
                    message=f"entry {index} does not hash to its leaf hash",
                )
            )
        leaves.append(declared)
        frontier.append(declared)
        if frontier.size in wanted:
            roots_at[frontier.size] = frontier.root()
    return leaves, roots_at


def _order_fault(
    index: int, expected: int, seen: set[int], every_index: set[int]
) -> tuple[Fault, str]:
    if index in seen:
        return Fault.INSERTED, f"index {index} appears twice"
    # Indices below ``expected`` have all been seen, so ``index`` is above it.
    if expected in every_index:
        return Fault.REORDERED, f"index {expected} appears out of order"
    return Fault.MISSING, f"index {expected} is missing"


def _compare_roots(
    *,
    leaves: list[bytes],
    checkpoint: Checkpoint,
    earlier: list[Checkpoint],
    roots_at: dict[int, bytes],
    node_store: NodeStore | None,
    count: int,
) -> LogVerificationReport:
    size = checkpoint.size
    rebuilt = roots_at.get(size)
    if rebuilt is None:
        # The export stops short of the checkpoint. A live store can tell a
        # deletion in the middle (later entries renumbered) from a cut end.
        if node_store is not None and leaves:
            found = locate_divergence(leaves, node_store, min(len(leaves), node_store.size()))
            if found is not None:
                return _located(
                    leaves, node_store, found, checkpoint=checkpoint, rebuilt=None, count=count
                )
        return _report(
            entries=count,
            checkpoint=checkpoint,
            index=len(leaves),
            fault=Fault.MISSING,
            message=f"the export holds {len(leaves)} entries, the checkpoint {size}",
        )
    if rebuilt != checkpoint.root_hash:
        return _locate(leaves, checkpoint, rebuilt, node_store, count)
    if len(leaves) > size:
        return _report(
            entries=count,
            root=rebuilt,
            checkpoint=checkpoint,
            index=size,
            fault=Fault.INSERTED,
            message=f"entries from {size} on are not covered by the checkpoint",
        )
    for old in sorted(earlier, key=lambda cp: cp.size):
        if old.size > size or roots_at.get(old.size) != old.root_hash:
            return _report(
                entries=count,
                root=rebuilt,
                checkpoint=checkpoint,
                fault=Fault.INCONSISTENT_CHECKPOINT,
                message=f"the checkpoint of size {old.size} is not a prefix of this log",
            )
    return _report(
        ok=True,
        entries=count,
        root=rebuilt,
        checkpoint=checkpoint,
        message=f"{size} entries match the signed checkpoint",
    )


def _locate(
    leaves: list[bytes],
    checkpoint: Checkpoint,
    rebuilt: bytes,
    node_store: NodeStore | None,
    count: int,
) -> LogVerificationReport:
    message = "the rebuilt tree head differs from the checkpoint"
    if node_store is None:
        return _report(
            entries=count,
            root=rebuilt,
            checkpoint=checkpoint,
            fault=Fault.ROOT_MISMATCH,
            message=message + "; a node store can locate the first bad entry",
        )
    # Only the entries the checkpoint covers can explain its root.
    limit = min(checkpoint.size, len(leaves), node_store.size())
    found = locate_divergence(leaves, node_store, limit)
    if found is None:
        return _report(
            entries=count,
            root=rebuilt,
            checkpoint=checkpoint,
            fault=Fault.ROOT_MISMATCH,
            message=message + "; the node store agrees with the export",
        )
    return _located(leaves, node_store, found, checkpoint=checkpoint, rebuilt=rebuilt, count=count)


def _located(
    leaves: list[bytes],
    node_store: NodeStore,
    found: Divergence,
    *,
    checkpoint: Checkpoint,
    rebuilt: bytes | None,
    count: int,
) -> LogVerificationReport:
    fault = _classify_shift(leaves, node_store, found.index) if found.span == 1 else Fault.ALTERED
    where = (
        f"entry {found.index}"
        if found.span == 1
        else f"entries {found.index} to {found.index + found.span - 1}"
    )
    return _report(
        entries=count,
        root=rebuilt,
        checkpoint=checkpoint,
        index=found.index,
        fault=fault,
        message=f"the export departs from the stored log at {where}",
    )


def verify_checkpoint_consistency(
    earlier_note: str,
    later_note: str,
    proof: Sequence[bytes],
    verifier: NoteVerifier | Iterable[NoteVerifier],
    *,
    origin: str | None = None,
) -> LogVerificationReport:
    """Check that a later signed checkpoint extends an earlier one.

    The proof is the RFC 9162 consistency proof the hub serves between the
    two sizes. A valid pair of signatures over two trees that no proof
    joins is evidence that the log was rewritten.
    """
    verifiers = verifier if isinstance(verifier, NoteVerifier) else list(verifier)
    opened: list[Checkpoint] = []
    for label, note in (("earlier", earlier_note), ("later", later_note)):
        result = _open_checkpoint(note, verifiers, origin)
        if not isinstance(result, Checkpoint):
            return _report(entries=0, fault=result[0], message=f"{label} checkpoint: {result[1]}")
        opened.append(result)
    old, new = opened
    if old.origin != new.origin:
        return _report(
            entries=0,
            checkpoint=new,
            fault=Fault.INCONSISTENT_CHECKPOINT,
            message="the checkpoints belong to different logs",
        )
    try:
        check_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    except ProofError as exc:
        return _report(
            entries=0,
            root=new.root_hash,
            checkpoint=new,
            fault=Fault.INCONSISTENT_CHECKPOINT,
            message=f"size {old.size} to {new.size}: {exc.detail}",
        )
    return _report(
        ok=True,
        entries=0,
        root=new.root_hash,
        checkpoint=new,
        message=f"the checkpoint of size {new.size} extends the one of size {old.size}",
    )
