"""The SQL side of the audit log: ports, searches, checkpoints, and tampering.

Each tamper test starts from an honest log of 40 entries with signed
checkpoints at sizes 16 and 40, then changes the stored rows the way an
insider with database access could. ``verify_store`` must name the first
bad index and the kind of fault. A small batch size makes the walk cross
batch boundaries.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import insert

from hub.audit.memory import InMemoryAuditLog
from hub.audit.models import EntryQuery, StoredCheckpoint
from hub.audit.ports import AccessLog, CheckpointStore, EntryStore, TreeReader
from hub.audit.service import DEFAULT_ORIGIN, AuditService, sign_checkpoint_with
from hub.domain.auditlog.checkpoint import Checkpoint, NoteSigner
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import InMemoryNodeStore, append
from hub.domain.auditlog.verify import Fault, LogVerificationReport
from hub.persistence import migrate
from hub.persistence.audit_queries import SqlAuditStore, iter_records, verify_store
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.factories import access_entry

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNER = NoteSigner.generate(DEFAULT_ORIGIN)
VERIFIER = SIGNER.verifier()
N = 40


def entry(i: int) -> AccessEntry:
    return access_entry(i)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def service_for(db: Database) -> AuditService:
    store = SqlAuditStore(db)
    return AuditService(tree=store, checkpoints=store, entries=store, signer=SIGNER)


@pytest.fixture
def honest(db: Database) -> AuditService:
    log = SqlAccessLog(db)
    service = service_for(db)
    with db.session() as session:
        log.append_in(session, [entry(i) for i in range(16)])
    service.make_checkpoint()
    for i in range(16, N):
        log.record(entry(i))
    service.make_checkpoint()
    return service


def run(db: Database, *statements: str, **params: object) -> None:
    with db.session() as session:
        for statement in statements:
            session.execute(sa.text(statement), params)


def check(db: Database) -> LogVerificationReport:
    return verify_store(db, verifier=VERIFIER, origin=DEFAULT_ORIGIN, batch=7)


def forged_row(index: int, i: int = 3) -> dict[str, object]:
    forged = AccessEntry(
        time=T0,
        actor=Actor("agency", "agency-0"),
        action="evidence.request",
        outcome="granted",
        subject="afm:100000000",
        purpose="housing",
        request_id=f"forged-{i}",
    )
    data = forged.canonical_bytes()
    return {
        "idx": index,
        "time": forged.time,
        "action": forged.action,
        "outcome": forged.outcome,
        "actor_kind": "agency",
        "actor_id": "agency-0",
        "subject": forged.subject,
        "purpose": forged.purpose,
        "evidence_type": None,
        "entry": data.decode(),
        "leaf_hash": leaf_hash(data),
    }


def shift(db: Database, start: int, by: int) -> None:
    # Through negative numbers, so that no statement collides with the key.
    run(
        db,
        f"UPDATE audit_entries SET idx = -idx - 1000 WHERE idx >= {start}",  # noqa: S608
        f"UPDATE audit_entries SET idx = -idx - 1000 + {by} WHERE idx < 0",  # noqa: S608
    )


def swap(db: Database, a: int, b: int) -> None:
    run(
        db,
        f"UPDATE audit_entries SET idx = -1 WHERE idx = {a}",  # noqa: S608
        f"UPDATE audit_entries SET idx = {a} WHERE idx = {b}",  # noqa: S608
        f"UPDATE audit_entries SET idx = {b} WHERE idx = -1",  # noqa: S608
    )


# -- ports, searches, checkpoints ----------------------------------------------------


def test_the_sql_store_implements_the_ports(db: Database) -> None:
    store = SqlAuditStore(db)
    for port in (TreeReader, CheckpointStore, EntryStore):
        assert isinstance(store, port)
    assert isinstance(SqlAccessLog(db), AccessLog)


@pytest.mark.parametrize(
    "query",
    [
        EntryQuery(),
        EntryQuery(citizen="afm:100000001"),
        EntryQuery(agency="agency-2"),
        EntryQuery(purpose="housing"),
        EntryQuery(action="evidence.request"),
        EntryQuery(outcome="denied"),
        EntryQuery(since=T0 + dt.timedelta(minutes=10), until=T0 + dt.timedelta(minutes=13)),
        EntryQuery(
            since=(T0 + dt.timedelta(minutes=30)).astimezone(dt.timezone(dt.timedelta(hours=2)))
        ),
        EntryQuery(agency="agency-1", outcome="denied", citizen="afm:100000001"),
        EntryQuery(citizen="afm:999999999"),
    ],
    ids=str,
)
def test_sql_searches_agree_with_the_reference(honest: AuditService, query: EntryQuery) -> None:
    reference = InMemoryAuditLog()
    for i in range(N):
        reference.record(entry(i))
    store = SqlAuditStore(honest_db(honest))
    for below in (None, 25):
        expected = reference.find_entries(query, below=below, limit=200)
        assert store.find_entries(query, below=below, limit=200) == expected


def honest_db(service: AuditService) -> Database:
    store = service._entries  # the fixture built it over SqlAuditStore
    assert isinstance(store, SqlAuditStore)
    return store.db


def test_pages_walk_the_whole_log_newest_first(honest: AuditService) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        page = honest.search(EntryQuery(), cursor=cursor, limit=6)
        seen.extend(e.index for e in page.items)
        if page.next is None:
            break
        cursor = page.next
    assert seen == list(range(N - 1, -1, -1))


def test_entries_round_trip_and_match_the_tree(honest: AuditService) -> None:
    found = honest.entry(17)
    assert found.entry == entry(17).to_json_obj()
    assert honest.inclusion(17, N).leaf_hash == found.leaf_hash
    assert SqlAuditStore(honest_db(honest)).entry_at(N) is None


def test_checkpoints_are_kept_once_per_size(honest: AuditService) -> None:
    store = SqlAuditStore(honest_db(honest))
    latest = store.latest_checkpoint()
    assert latest is not None
    assert latest.size == N
    assert latest.created_at.tzinfo is not None
    assert [c.size for c in store.checkpoints(below=None, limit=10)] == [N, 16]
    assert [c.size for c in store.checkpoints(below=N, limit=10)] == [16]
    other = StoredCheckpoint(N, b"\x00" * 32, "forged\n", T0)
    kept, created = store.add_checkpoint(other)
    assert (kept, created) == (latest, False)
    assert store.checkpoint_at(16) is not None
    assert store.checkpoint_at(17) is None


def test_racing_checkpoints_of_one_size_keep_one(db: Database) -> None:
    SqlAccessLog(db).record(entry(0))
    store = SqlAuditStore(db)
    results: list[bool] = []

    def make() -> None:
        results.append(service_for(db).make_checkpoint()[1])

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert [c.size for c in store.checkpoints(below=None, limit=10)] == [1]


def test_export_records_stream_in_order(honest: AuditService) -> None:
    records = list(iter_records(honest_db(honest), N, batch=7))
    assert [r["index"] for r in records] == list(range(N))
    assert records[5]["entry"] == entry(5).to_json_obj()
    assert records[5]["leaf_hash"] == entry(5).leaf_hash().hex()
    assert len(list(iter_records(honest_db(honest), 16, batch=7))) == 16


# -- verification of the live store ----------------------------------------------------


def test_an_honest_store_verifies(honest: AuditService) -> None:
    db = honest_db(honest)
    report = check(db)
    assert report.ok, report.message
    assert report.entries == N
    assert report.root == honest.latest_checkpoint().root_hash.hex()
    assert report.checkpoint_size == N
    # Entries appended after the last checkpoint are checked against the tree.
    SqlAccessLog(db).record(entry(N))
    assert check(db).ok
    assert verify_store(db).ok  # without the key, signatures are not checked


def test_an_empty_store_verifies(db: Database) -> None:
    report = check(db)
    assert (report.ok, report.entries) == (True, 0)


def _edit_keeping_hash(db: Database) -> None:
    with db.session() as session:
        text = session.scalar(sa.select(AuditEntryRow.entry).where(AuditEntryRow.idx == 12))
        assert text is not None
        forged = text.replace("housing", "curiosity").encode()
        session.execute(
            sa.update(AuditEntryRow)
            .where(AuditEntryRow.idx == 12)
            .values(entry=forged.decode(), leaf_hash=leaf_hash(forged))
        )


def _insert_at_end(db: Database) -> None:
    with db.session() as session:
        session.execute(insert(AuditEntryRow), [forged_row(N)])


def _insert_in_middle(db: Database) -> None:
    shift(db, 20, 1)
    with db.session() as session:
        session.execute(insert(AuditEntryRow), [forged_row(20)])


def _delete_and_renumber(db: Database) -> None:
    run(db, "DELETE FROM audit_entries WHERE idx = 20")
    shift(db, 21, -1)


def _truncate(db: Database) -> None:
    run(
        db,
        "DELETE FROM audit_entries WHERE idx >= 35",
        "DELETE FROM audit_nodes WHERE level = 0 AND idx >= 35",
        "UPDATE audit_head SET size = 35",
    )


def _rewrite_history(db: Database) -> None:
    """Edit entry 12 and rewrite every stored node consistently."""
    with db.session() as session:
        rows = session.execute(
            sa.select(AuditEntryRow.idx, AuditEntryRow.entry).order_by(AuditEntryRow.idx)
        ).all()
    texts = [str(r.entry) for r in rows]
    texts[12] = texts[12].replace("housing", "curiosity")
    rebuilt = InMemoryNodeStore()
    rebuilt.put_nodes(append(rebuilt, [leaf_hash(t.encode()) for t in texts]))
    with db.session() as session:
        session.execute(
            sa.update(AuditEntryRow)
            .where(AuditEntryRow.idx == 12)
            .values(entry=texts[12], leaf_hash=leaf_hash(texts[12].encode()))
        )
        for (level, index), digest in rebuilt.nodes.items():
            session.execute(
                sa.text("UPDATE audit_nodes SET hash = :h WHERE level = :l AND idx = :i"),
                {"h": digest, "l": level, "i": index},
            )


def _forge_checkpoint(db: Database) -> None:
    forger = NoteSigner.generate(DEFAULT_ORIGIN)
    with db.session() as session:
        root = session.scalar(sa.text("SELECT root_hash FROM audit_checkpoints WHERE size = 16"))
        note = sign_checkpoint_with(Checkpoint(DEFAULT_ORIGIN, 16, bytes(root)), forger)
        session.execute(
            sa.text("UPDATE audit_checkpoints SET note = :n WHERE size = 16"), {"n": note}
        )


TAMPERING: dict[str, tuple[Callable[[Database], None], Fault, int | None]] = {
    "edit-json": (
        lambda db: run(
            db,
            "UPDATE audit_entries SET entry = replace(entry, 'housing', 'curiosity') "
            "WHERE idx = 12",
        ),
        Fault.ALTERED,
        12,
    ),
    "edit-json-and-leaf-hash": (_edit_keeping_hash, Fault.ALTERED, 12),
    "edit-leaf-hash-column": (
        lambda db: run(db, "UPDATE audit_entries SET leaf_hash = :h WHERE idx = 9", h=b"\1" * 32),
        Fault.ALTERED,
        9,
    ),
    "delete": (lambda db: run(db, "DELETE FROM audit_entries WHERE idx = 20"), Fault.MISSING, 20),
    "delete-and-renumber": (_delete_and_renumber, Fault.MISSING, 20),
    "delete-the-end": (_truncate, Fault.MISSING, 35),
    "insert-at-end": (_insert_at_end, Fault.INSERTED, N),
    "insert-and-renumber": (_insert_in_middle, Fault.INSERTED, 20),
    "swap-adjacent": (lambda db: swap(db, 7, 8), Fault.REORDERED, 7),
    "swap-distant": (lambda db: swap(db, 7, 30), Fault.REORDERED, 7),
    "copy-over": (
        lambda db: run(
            db,
            "UPDATE audit_entries SET entry = (SELECT entry FROM audit_entries WHERE idx = 2) "
            "WHERE idx = 11",
        ),
        Fault.INSERTED,
        11,
    ),
    "edit-tree-node": (
        lambda db: run(
            db, "UPDATE audit_nodes SET hash = :h WHERE level = 2 AND idx = 3", h=b"\2" * 32
        ),
        Fault.ALTERED,
        12,
    ),
    "delete-tree-leaf": (
        lambda db: run(db, "DELETE FROM audit_nodes WHERE level = 0 AND idx = 33"),
        Fault.MISSING,
        33,
    ),
    "rewrite-history": (_rewrite_history, Fault.ROOT_MISMATCH, 0),
    "edit-checkpoint-row": (
        lambda db: run(
            db, "UPDATE audit_checkpoints SET root_hash = :h WHERE size = 16", h=b"\3" * 32
        ),
        Fault.ALTERED,
        None,
    ),
    "forge-checkpoint": (_forge_checkpoint, Fault.BAD_SIGNATURE, None),
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_is_detected_and_located(honest: AuditService, name: str) -> None:
    db = honest_db(honest)
    tamper, fault, index = TAMPERING[name]
    tamper(db)
    report = check(db)
    assert not report.ok
    assert (report.fault, report.first_bad_index) == (fault, index), report.message


def test_threads_appending_at_once_never_fork_the_log(db: Database) -> None:
    log = SqlAccessLog(db)
    indices: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(40):
            index = log.record(entry(k * 100 + i))
            with lock:
                indices.append(index)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(indices) == list(range(160))
    service_for(db).make_checkpoint()
    report = check(db)
    assert report.ok, report.message
    assert report.entries == 160


def test_appends_sign_checkpoints_when_due(db: Database) -> None:
    from hub.audit.models import CheckpointPolicy  # noqa: PLC0415

    log = SqlAccessLog(db)
    store = SqlAuditStore(db)
    service = AuditService(
        tree=store,
        checkpoints=store,
        entries=store,
        signer=SIGNER,
        policy=CheckpointPolicy(every=10, seconds=3600),
    )
    log.add_listener(service.note_appended)
    for i in range(25):
        log.record(entry(i))
    assert [c.size for c in store.checkpoints(below=None, limit=10)] == [21, 11, 1]
