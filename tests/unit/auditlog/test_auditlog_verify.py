"""Offline verification of exports: every kind of tampering, found and located.

Each test starts from an honest log of 37 entries, its node store and a
checkpoint signed by the hub, then forges the export (and sometimes the
store) the way an insider with database access could.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.domain.auditlog.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from hub.domain.auditlog.entry import AccessEntry, Actor, entry_leaf_hash
from hub.domain.auditlog.errors import ProofError, TreeIntegrityError
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import InMemoryNodeStore, append, consistency_proof, root
from hub.domain.auditlog.verify import (
    Divergence,
    Fault,
    locate_divergence,
    verify_checkpoint_consistency,
    verify_export,
)

ORIGIN = "oncehub.gov.gr/audit-log"
KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
VERIFIER = NoteSigner.from_private_key(ORIGIN, KEY).verifier()
N = 37

Record = dict[str, Any]


def _entry(i: int) -> AccessEntry:
    return AccessEntry(
        time=dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
        actor=Actor("agency", f"agency:{i % 3}", official=f"official-{i}"),
        action="evidence.request" if i % 2 else "consent.grant",
        outcome="granted",
        subject=f"cit:{i:04x}",
        evidence_type="tax-clearance",
        purpose="social-benefit",
        legal_basis="law-4727/2020",
        fields=("afm", "tax_status"),
        request_id=f"req-{i}",
    )


def _record(index: int, obj: dict[str, Any]) -> Record:
    return {"index": index, "entry": obj, "leaf_hash": entry_leaf_hash(obj).hex()}


def _honest_log(n: int = N) -> tuple[list[Record], InMemoryNodeStore]:
    # A JSON round trip, as an export file would make.
    records = json.loads(json.dumps([_record(i, _entry(i).to_json_obj()) for i in range(n)]))
    store = InMemoryNodeStore()
    store.put_nodes(append(store, [bytes.fromhex(r["leaf_hash"]) for r in records]))
    return records, store


def _checkpoint(store: InMemoryNodeStore, size: int = N) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root(store, size)), ORIGIN, KEY)


@pytest.fixture
def log() -> tuple[list[Record], InMemoryNodeStore, str]:
    records, store = _honest_log()
    return records, store, _checkpoint(store)


def _renumber(records: list[Record]) -> list[Record]:
    return [{**r, "index": i} for i, r in enumerate(records)]


def test_honest_export_verifies(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, store, note = log
    report = verify_export(records, note, VERIFIER, origin=ORIGIN)
    assert report.ok
    assert report.fault is None
    assert report.entries == N
    assert report.checkpoint_size == N
    assert report.root == root(store, N).hex()
    assert report.to_json_obj()["ok"] is True
    assert verify_export(records, note, [VERIFIER], node_store=store).ok


def test_empty_log_verifies() -> None:
    store = InMemoryNodeStore()
    assert verify_export([], _checkpoint(store, 0), VERIFIER).ok


def test_edited_entry_is_altered(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    records[5]["entry"]["purpose"] = "curiosity"
    report = verify_export(records, note, VERIFIER)
    assert (report.ok, report.fault, report.first_bad_index) == (False, Fault.ALTERED, 5)
    assert report.to_json_obj()["fault"] == "altered"


def test_deleted_entry_is_missing(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    del records[7]
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.MISSING, 7)


def test_truncated_export_is_missing(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, store, note = log
    report = verify_export(records[:30], note, VERIFIER, node_store=store)
    assert (report.fault, report.first_bad_index) == (Fault.MISSING, 30)


def test_deleted_and_renumbered_is_located_with_the_store(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, store, note = log
    del records[7]
    forged = _renumber(records)
    offline = verify_export(forged, note, VERIFIER)
    assert (offline.fault, offline.first_bad_index) == (Fault.MISSING, N - 1)
    located = verify_export(forged, note, VERIFIER, node_store=store)
    assert (located.fault, located.first_bad_index) == (Fault.MISSING, 7)


def test_duplicated_index_is_inserted(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    records.insert(11, copy.deepcopy(records[10]))
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.INSERTED, 10)


def test_inserted_and_renumbered_is_located_with_the_store(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, store, note = log
    fake = _entry(1000).to_json_obj()
    records.insert(10, _record(10, fake))
    forged = _renumber(records)
    offline = verify_export(forged, note, VERIFIER)
    assert (offline.fault, offline.first_bad_index) == (Fault.ROOT_MISMATCH, None)
    located = verify_export(forged, note, VERIFIER, node_store=store)
    assert (located.fault, located.first_bad_index) == (Fault.INSERTED, 10)


def test_entries_beyond_the_checkpoint_are_inserted(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, _, note = log
    records.append(_record(N, _entry(N).to_json_obj()))
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.INSERTED, N)


def test_swapped_records_are_reordered(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    records[3], records[4] = records[4], records[3]
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.REORDERED, 3)


def test_swapped_and_renumbered_is_located_with_the_store(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, store, note = log
    records[3], records[4] = records[4], records[3]
    forged = _renumber(records)
    assert verify_export(forged, note, VERIFIER).fault == Fault.ROOT_MISMATCH
    located = verify_export(forged, note, VERIFIER, node_store=store)
    assert (located.fault, located.first_bad_index) == (Fault.REORDERED, 3)


@pytest.mark.parametrize("index", [0, 12, 31, 32, 36])
def test_consistently_rewritten_leaf_is_located(
    log: tuple[list[Record], InMemoryNodeStore, str], index: int
) -> None:
    records, store, note = log
    obj = records[index]["entry"]
    obj["purpose"] = "curiosity"
    records[index] = _record(index, obj)
    offline = verify_export(records, note, VERIFIER)
    assert (offline.fault, offline.first_bad_index) == (Fault.ROOT_MISMATCH, None)
    store.reset_counters()
    located = verify_export(records, note, VERIFIER, node_store=store)
    assert (located.fault, located.first_bad_index) == (Fault.ALTERED, index)
    # The walk reads one batch per level, plus one to classify the fault.
    assert store.get_calls <= N.bit_length() + 2


def test_rewritten_stored_leaf_still_narrows_the_fault(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, store, note = log
    obj = records[13]["entry"]
    obj["purpose"] = "curiosity"
    records[13] = _record(13, obj)
    # The forger rewrote the stored leaf too, but not the subtrees above it.
    store.nodes[(0, 13)] = bytes.fromhex(records[13]["leaf_hash"])
    hashes = [bytes.fromhex(r["leaf_hash"]) for r in records]
    assert locate_divergence(hashes, store) == Divergence(12, 2)
    report = verify_export(records, note, VERIFIER, node_store=store)
    assert (report.fault, report.first_bad_index) == (Fault.ALTERED, 12)


def test_locate_divergence_on_agreeing_and_short_inputs() -> None:
    records, store = _honest_log(20)
    hashes = [bytes.fromhex(r["leaf_hash"]) for r in records]
    assert locate_divergence(hashes, store) is None
    assert locate_divergence(hashes[:9], store) is None
    assert locate_divergence([], store) is None
    hashes[17] = leaf_hash(b"forged")
    assert locate_divergence(hashes, store) == Divergence(17, 1)
    assert locate_divergence(hashes, store, 17) is None
    with pytest.raises(ProofError):
        locate_divergence(hashes, store, 21)
    del store.nodes[(4, 0)]
    with pytest.raises(TreeIntegrityError):
        locate_divergence(hashes, store)


def test_store_agreeing_with_a_forged_export_is_reported(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, _, note = log
    obj = records[2]["entry"]
    obj["purpose"] = "curiosity"
    records[2] = _record(2, obj)
    # The forger rebuilt the whole store from the forged export.
    _, forged_store = _honest_log(0)
    forged_store.put_nodes(append(forged_store, [bytes.fromhex(r["leaf_hash"]) for r in records]))
    report = verify_export(records, note, VERIFIER, node_store=forged_store)
    assert (report.fault, report.first_bad_index) == (Fault.ROOT_MISMATCH, None)


def test_bad_signature(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    report = verify_export(records, note.replace(f"\n{N}\n", f"\n{N + 1}\n"), VERIFIER)
    assert (report.ok, report.fault) == (False, Fault.BAD_SIGNATURE)


def test_unknown_signer(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, store, _ = log
    other = Ed25519PrivateKey.from_private_bytes(b"\x08" * 32)
    note = sign_checkpoint(Checkpoint(ORIGIN, N, root(store, N)), ORIGIN, other)
    assert verify_export(records, note, VERIFIER).fault == Fault.BAD_SIGNATURE


def test_checkpoint_of_another_log(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, note = log
    assert verify_export(records, note, VERIFIER, origin="other").fault == Fault.BAD_SIGNATURE


def test_malformed_checkpoint(log: tuple[list[Record], InMemoryNodeStore, str]) -> None:
    records, _, _ = log
    assert verify_export(records, "garbage", VERIFIER).fault == Fault.MALFORMED


def test_root_mismatch_with_a_validly_signed_wrong_root(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, _, _ = log
    note = sign_checkpoint(Checkpoint(ORIGIN, N, b"\x00" * 32), ORIGIN, KEY)
    assert verify_export(records, note, VERIFIER).fault == Fault.ROOT_MISMATCH


@pytest.mark.parametrize(
    "change",
    [
        {"index": True},
        {"index": -1},
        {"index": "3"},
        {"entry": "not an object"},
        {"leaf_hash": "zz" * 32},
        {"leaf_hash": "ab"},
        {"leaf_hash": None},
    ],
)
def test_malformed_records(
    log: tuple[list[Record], InMemoryNodeStore, str], change: dict[str, Any]
) -> None:
    records, _, note = log
    records[3] = {**records[3], **change}
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.MALFORMED, 3)


def test_non_object_record_and_uncanonicalisable_entry(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, _, note = log
    assert verify_export([*records[:2], "x"], note, VERIFIER).fault == Fault.MALFORMED
    records[4]["entry"]["n"] = 2**60
    report = verify_export(records, note, VERIFIER)
    assert (report.fault, report.first_bad_index) == (Fault.MALFORMED, 4)


def test_earlier_checkpoints_must_be_prefixes(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    records, store, note = log
    earlier = [_checkpoint(store, 20), _checkpoint(store, 1), _checkpoint(store, 0)]
    assert verify_export(records, note, VERIFIER, earlier_checkpoints=earlier).ok

    # A checkpoint the hub signed over a history it later rewrote.
    forked_records, _ = _honest_log(20)
    forked_records[19]["entry"]["purpose"] = "curiosity"
    forked_store = InMemoryNodeStore()
    forked_store.put_nodes(
        append(forked_store, [entry_leaf_hash(r["entry"]) for r in forked_records])
    )
    forked = _checkpoint(forked_store, 20)
    report = verify_export(records, note, VERIFIER, earlier_checkpoints=[forked])
    assert (report.ok, report.fault) == (False, Fault.INCONSISTENT_CHECKPOINT)

    # An "earlier" checkpoint larger than the latest is a rollback.
    bigger = sign_checkpoint(Checkpoint(ORIGIN, N + 5, b"\x01" * 32), ORIGIN, KEY)
    report = verify_export(records, note, VERIFIER, earlier_checkpoints=[bigger])
    assert report.fault == Fault.INCONSISTENT_CHECKPOINT

    tampered = _checkpoint(store, 20).replace("\n20\n", "\n21\n")
    report = verify_export(records, note, VERIFIER, earlier_checkpoints=[tampered])
    assert report.fault == Fault.BAD_SIGNATURE


def test_checkpoint_consistency_with_a_proof(
    log: tuple[list[Record], InMemoryNodeStore, str],
) -> None:
    _, store, note = log
    old = _checkpoint(store, 20)
    proof = consistency_proof(store, 20, N)
    report = verify_checkpoint_consistency(old, note, proof, VERIFIER)
    assert report.ok, report.message

    forked_store = InMemoryNodeStore()
    forked_store.put_nodes(append(forked_store, [leaf_hash(bytes([i])) for i in range(20)]))
    forked = _checkpoint(forked_store, 20)
    report = verify_checkpoint_consistency(forked, note, proof, VERIFIER)
    assert (report.ok, report.fault) == (False, Fault.INCONSISTENT_CHECKPOINT)

    bad_proof = [*proof]
    bad_proof[0] = bytes(32)
    report = verify_checkpoint_consistency(old, note, bad_proof, [VERIFIER])
    assert report.fault == Fault.INCONSISTENT_CHECKPOINT

    other_log = sign_checkpoint(Checkpoint("other", 20, root(store, 20)), ORIGIN, KEY)
    report = verify_checkpoint_consistency(other_log, note, proof, VERIFIER)
    assert report.fault == Fault.INCONSISTENT_CHECKPOINT

    report = verify_checkpoint_consistency(old, "garbage", proof, VERIFIER)
    assert report.fault == Fault.MALFORMED
