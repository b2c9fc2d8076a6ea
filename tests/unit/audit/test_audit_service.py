"""The audit service over in-memory ports: checkpoints, proofs, searches."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest

from hub.audit.memory import InMemoryAuditLog
from hub.audit.models import CheckpointPolicy, EntryQuery, StoredCheckpoint
from hub.audit.ports import AccessLog, CheckpointStore, EntryStore, LogSigner, TreeReader
from hub.audit.service import (
    DEFAULT_ORIGIN,
    AuditService,
    CheckpointTimer,
    decode_cursor,
    encode_cursor,
)
from hub.domain.auditlog.checkpoint import NoteSigner, verify_note
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.auditlog.errors import ProofError
from hub.domain.auditlog.merkle import (
    EMPTY_ROOT,
    consistency_path,
    inclusion_path,
    root_of_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from hub.errors import NotFound, ValidationFailed
from tests.common.factories import access_entry

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNER = NoteSigner.generate(DEFAULT_ORIGIN)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def entry(i: int) -> AccessEntry:
    return access_entry(i)


def make(
    n: int = 0, log: InMemoryAuditLog | None = None, **kwargs: object
) -> tuple[AuditService, InMemoryAuditLog, Clock]:
    log = InMemoryAuditLog() if log is None else log
    for i in range(n):
        log.record(entry(i))
    clock = Clock()
    service = AuditService(
        tree=log,
        checkpoints=log,
        entries=log,
        signer=SIGNER,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )
    return service, log, clock


def leaves(log: InMemoryAuditLog) -> list[bytes]:
    return [log.nodes.nodes[(0, i)] for i in range(len(log.entries))]


def test_the_memory_log_and_the_signer_implement_the_ports() -> None:
    log = InMemoryAuditLog()
    for port in (TreeReader, CheckpointStore, EntryStore, AccessLog):
        assert isinstance(log, port)
    assert isinstance(SIGNER, LogSigner)


def test_a_checkpoint_is_a_verifiable_signed_note_of_the_tree() -> None:
    service, log, _ = make(21)
    checkpoint, created = service.make_checkpoint()
    assert created
    assert checkpoint.size == 21
    assert checkpoint.root_hash == root_of_leaf_hashes(leaves(log))
    body = verify_note(checkpoint.note, SIGNER.verifier(), origin=DEFAULT_ORIGIN)
    assert (body.size, body.root_hash) == (21, checkpoint.root_hash)
    assert service.log_key() == SIGNER.verifier().to_text()
    assert service.latest_checkpoint() == checkpoint
    again, created = service.make_checkpoint()
    assert (again, created) == (checkpoint, False)


def test_the_empty_log_has_no_checkpoint_until_one_is_asked_for() -> None:
    service, _, _ = make()
    with pytest.raises(NotFound):
        service.latest_checkpoint()
    checkpoint, _ = service.make_checkpoint()
    assert (checkpoint.size, checkpoint.root_hash) == (0, EMPTY_ROOT)


def test_checkpoints_are_due_every_n_entries_or_after_t_seconds() -> None:
    service, log, clock = make(policy=CheckpointPolicy(every=5, seconds=60))
    assert service.maybe_checkpoint() is None  # nothing logged
    log.record(entry(0))
    first = service.maybe_checkpoint()
    assert first is not None
    assert first.size == 1  # the first entry is never left unsigned
    for i in range(1, 4):
        log.record(entry(i))
        service.note_appended(i + 1)
    assert service.latest_checkpoint().size == 1  # 3 new entries, 0 s: not due
    log.record(entry(4))
    log.record(entry(5))
    service.note_appended(6)
    assert service.latest_checkpoint().size == 6  # 5 new entries
    log.record(entry(6))
    clock.now += dt.timedelta(seconds=59)
    assert service.maybe_checkpoint() is None
    clock.now += dt.timedelta(seconds=1)
    made = service.maybe_checkpoint()
    assert made is not None
    assert made.size == 7
    clock.now += dt.timedelta(hours=1)
    assert service.maybe_checkpoint() is None  # old, but nothing new to sign


class _CountingStore(InMemoryAuditLog):
    """A checkpoint store whose look-ups are slow and counted."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.count_lock = threading.Lock()

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.count_lock:
            self.lookups += 1
        time.sleep(0.05)
        return super().latest_checkpoint()


def test_a_due_checkpoint_is_looked_for_and_made_by_one_thread() -> None:
    log = _CountingStore()
    service, _, _ = make(log=log, policy=CheckpointPolicy(every=5, seconds=60))
    service.make_checkpoint()  # size 0: the service now knows the latest
    for i in range(5):
        log.record(entry(i))
    log.lookups = 0
    start = threading.Barrier(16)

    def appended() -> None:
        start.wait()
        service.note_appended(5)

    threads = [threading.Thread(target=appended) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # All sixteen saw it due; one asked the store and signed it.
    assert log.lookups == 1
    assert service.latest_checkpoint().size == 5
    assert [c.size for c in log.checkpoints(below=None, limit=10)] == [5, 0]


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        CheckpointPolicy(every=0)


def test_the_timer_signs_a_due_checkpoint() -> None:
    service, _, _ = make(3, policy=CheckpointPolicy(every=1000, seconds=0.01))
    timer = CheckpointTimer(service, interval=0.01)
    timer.start()
    try:
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        while dt.datetime.now(dt.UTC) < deadline:
            try:
                if service.latest_checkpoint().size == 3:
                    break
            except NotFound:
                pass
    finally:
        timer.stop()
    assert service.latest_checkpoint().size == 3


def test_checkpoint_history_pages_from_the_largest() -> None:
    service, log, _ = make()
    for i in range(5):
        log.record(entry(i))
        service.make_checkpoint()
    page = service.checkpoint_history(limit=2)
    assert [c.size for c in page.items] == [5, 4]
    assert page.next is not None
    page = service.checkpoint_history(cursor=page.next, limit=2)
    assert [c.size for c in page.items] == [3, 2]
    page = service.checkpoint_history(cursor=page.next, limit=2)
    assert [c.size for c in page.items] == [1]
    assert page.next is None


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 13])
def test_inclusion_proofs_match_the_reference_and_verify(n: int) -> None:
    service, log, _ = make(n)
    hashes = leaves(log)
    for size in range(1, n + 1):
        head = root_of_leaf_hashes(hashes[:size])
        for index in range(size):
            proof = service.inclusion(index, size)
            assert list(proof.hashes) == inclusion_path(hashes[:size], index)
            assert proof.root_hash == head
            assert proof.leaf_hash == hashes[index]
            assert verify_inclusion(index, size, proof.leaf_hash, proof.hashes, head)


@pytest.mark.parametrize("n", [1, 5, 8, 11])
def test_consistency_proofs_match_the_reference_and_verify(n: int) -> None:
    service, log, _ = make(n)
    hashes = leaves(log)
    for second in range(n + 1):
        for first in range(second + 1):
            proof = service.consistency(first, second)
            assert list(proof.hashes) == consistency_path(hashes[:second], first)
            assert proof.first_root == root_of_leaf_hashes(hashes[:first])
            assert proof.second_root == root_of_leaf_hashes(hashes[:second])
            assert verify_consistency(
                first, second, proof.first_root, proof.second_root, proof.hashes
            )


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (-1, 3), (0, 11), (3, 2)], ids=str)
def test_impossible_inclusion_proofs_are_refused(index: int, size: int) -> None:
    service, _, _ = make(10)
    with pytest.raises(ProofError):
        service.inclusion(index, size)


@pytest.mark.parametrize(("first", "second"), [(3, 2), (0, 11), (-1, 4)], ids=str)
def test_impossible_consistency_proofs_are_refused(first: int, second: int) -> None:
    service, _, _ = make(10)
    with pytest.raises(ProofError):
        service.consistency(first, second)


def test_search_filters_and_pages_newest_first() -> None:
    service, _, _ = make(40)
    page = service.search(EntryQuery(citizen="afm:100000001"), limit=3)
    assert [e.index for e in page.items] == [37, 33, 29]
    seen = [e.index for e in page.items]
    while page.next is not None:
        page = service.search(EntryQuery(citizen="afm:100000001"), cursor=page.next, limit=3)
        seen.extend(e.index for e in page.items)
    assert seen == list(range(37, 0, -4))
    assert all(e.entry["subject"] == "afm:100000001" for e in page.items)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (EntryQuery(agency="agency-2"), [i for i in range(40) if i % 3 == 2]),
        (EntryQuery(purpose="housing"), list(range(0, 40, 2))),
        (EntryQuery(action="evidence.request"), list(range(1, 40, 2))),
        (EntryQuery(outcome="denied"), list(range(0, 40, 5))),
        (
            EntryQuery(since=T0 + dt.timedelta(minutes=10), until=T0 + dt.timedelta(minutes=13)),
            [10, 11, 12],
        ),
        (EntryQuery(agency="agency-1", outcome="denied"), [10, 25]),
    ],
    ids=["agency", "purpose", "action", "outcome", "time", "combined"],
)
def test_each_filter(query: EntryQuery, expected: list[int]) -> None:
    service, _, _ = make(40)
    page = service.search(query, limit=200)
    assert [e.index for e in page.items] == sorted(expected, reverse=True)
    assert page.next is None


def test_entries_by_index_carry_their_leaf_hash() -> None:
    service, log, _ = make(4)
    found = service.entry(2)
    assert found.entry == entry(2).to_json_obj()
    assert found.leaf_hash == log.nodes.nodes[(0, 2)]
    assert found.to_json_obj()["leaf_hash"] == found.leaf_hash.hex()
    for missing in (4, -1):
        with pytest.raises(NotFound):
            service.entry(missing)


def test_auditor_reads_are_themselves_logged() -> None:
    service, log, _ = make(4, access_log=None)
    service.search(EntryQuery(), auditor="ana")
    assert len(log.entries) == 4  # without an access log nothing is recorded
    recorded, recorded_log, _ = make(4)
    recorded = AuditService(
        tree=recorded_log,
        checkpoints=recorded_log,
        entries=recorded_log,
        signer=SIGNER,
        access_log=recorded_log,
    )
    recorded.search(EntryQuery(citizen="afm:100000002"), auditor="ana", request_id="r-1")
    recorded.entry(1, auditor="ana")
    search, read = recorded_log.entries[4:]
    assert (search.actor, search.action, search.subject) == (
        Actor("auditor", "ana"),
        "audit.search",
        "afm:100000002",
    )
    assert search.request_id == "r-1"
    assert (read.action, read.subject) == ("audit.read", "afm:100000001")


def test_cursors_are_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    for bad in ("", "!!", encode_cursor(7) + "A", "LTE"):  # "LTE" is base64 of "-1"
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)
    service, _, _ = make(3)
    with pytest.raises(ValidationFailed):
        service.search(EntryQuery(), limit=201)
    with pytest.raises(ValidationFailed):
        service.search(EntryQuery(), limit=0)


def test_queries_need_zoned_times_in_order() -> None:
    with pytest.raises(ValidationFailed):
        EntryQuery(since=dt.datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValidationFailed):
        EntryQuery(since=T0, until=T0)


def test_a_wrongly_wired_key_publishes_nothing() -> None:
    class Mismatched:
        name = DEFAULT_ORIGIN
        key_id = SIGNER.key_id

        def sign(self, message: bytes) -> bytes:
            return NoteSigner.generate(DEFAULT_ORIGIN).sign(message)

        def verifier(self) -> object:
            return SIGNER.verifier()

    log = InMemoryAuditLog()
    service = AuditService(tree=log, checkpoints=log, entries=log, signer=Mismatched())  # type: ignore[arg-type]
    with pytest.raises(Exception, match="does not verify"):
        service.make_checkpoint()
    assert log.latest_checkpoint() is None


def test_the_service_logs_no_personal_identifier(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    service, _, _ = make(12, policy=CheckpointPolicy(every=2))
    service.maybe_checkpoint()
    service.search(EntryQuery(citizen="afm:100000003"), auditor="ana")
    service.entry(3, auditor="ana")
    text = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "afm:" not in text
    assert "official-" not in text
