"""Group commit of the access log: concurrent callers share commits, never indexes.

Every caller of :meth:`SqlAccessLog.record` must get back its own index once
its entry is durable; a group that fails fails each of its callers and leaves
nothing behind; and a log that another process appended to in the meantime
must not be extended from a stale frontier.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hub.domain.auditlog.entry import AccessEntry, canonical_json
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import Frontier
from hub.errors import StorageError
from hub.persistence import migrate
from hub.persistence.audit_queries import verify_store
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.factories import access_entry

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def entry(i: int) -> AccessEntry:
    return access_entry(
        i,
        start=T0,
        step=dt.timedelta(seconds=1),
        agency=f"agency-{i % 5}",
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{200000000 + i}",
        evidence_type="family-status",
        purpose="benefit",
        request_id=f"group-{i}",
    )


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=4)
    migrate.upgrade(database)
    yield database
    database.dispose()


def stored_request_ids(db: Database) -> dict[int, str]:
    with db.session() as session:
        rows = session.execute(sa.select(AuditEntryRow.idx, AuditEntryRow.entry)).all()
    return {int(idx): str(SqlAccessLog.decode(text)["request_id"]) for idx, text in rows}


def test_concurrent_callers_each_get_their_own_durable_index(db: Database) -> None:
    log = SqlAccessLog(db)
    threads, per_thread = 24, 8
    start = threading.Barrier(threads)
    got: dict[str, int] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        start.wait()
        for k in range(per_thread):
            i = t * per_thread + k
            try:
                index = log.record(entry(i))
            except BaseException as exc:
                errors.append(exc)
                return
            with lock:
                got[f"group-{i}"] = index

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors
    total = threads * per_thread
    assert sorted(got.values()) == list(range(total))
    # The index each caller got is the index its own entry was stored at.
    assert {rid: idx for idx, rid in stored_request_ids(db).items()} == got
    report = verify_store(db)
    assert report.ok, report.message
    assert report.entries == total
    # The stored tree is the one the same entries make in order.
    reference = Frontier()
    for rid in sorted(got, key=got.__getitem__):
        stored = entry(int(rid.removeprefix("group-")))
        reference.append(leaf_hash(canonical_json(stored.to_json_obj())))
    assert report.root == reference.root().hex()


def test_a_failed_group_fails_its_callers_and_leaves_nothing(db: Database) -> None:
    log = SqlAccessLog(db)
    for i in range(3):
        log.record(entry(i))
    with db.session() as session:
        session.execute(sa.text("DELETE FROM audit_head"))
    with pytest.raises(StorageError):
        log.record(entry(3))
    with db.session() as session:
        session.execute(sa.text("INSERT INTO audit_head (id, size) VALUES (1, 3)"))
    assert log.record(entry(4)) == 3
    assert sorted(stored_request_ids(db).values()) == ["group-0", "group-1", "group-2", "group-4"]
    assert verify_store(db).ok


def test_another_writer_between_groups_is_not_overwritten(db: Database) -> None:
    # Two logs on one database stand for two hub processes: each keeps the
    # frontier of its own last commit, which the other's appends make stale.
    first, second = SqlAccessLog(db), SqlAccessLog(db)
    assert first.record(entry(0)) == 0
    assert second.record(entry(1)) == 1
    assert second.record(entry(2)) == 2
    assert first.record(entry(3)) == 3
    with db.session() as session:
        first.append_in(session, [entry(4), entry(5)])
    assert second.record(entry(6)) == 6
    report = verify_store(db)
    assert report.ok, report.message
    assert report.entries == 7


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt or SystemExit inside a commit."""


@pytest.mark.parametrize("failure", [RuntimeError, _Interrupt])
def test_a_group_failing_under_load_releases_every_caller(
    db: Database, failure: type[BaseException]
) -> None:
    # One entry's writer fails its whole group; every thread must come back
    # (none left waiting for a wake-up), the group's callers with an error,
    # and the log must go on from where it was, with no gap.
    log = SqlAccessLog(db)
    poisoned = "group-37"

    def writer(_session: object, entries: list[AccessEntry]) -> None:
        if any(e.request_id == poisoned for e in entries):
            raise failure("the commit breaks")

    log.add_writer(writer)
    threads, per_thread = 16, 6
    start = threading.Barrier(threads)
    outcomes: dict[str, int | BaseException] = {}
    lock = threading.Lock()

    def work(t: int) -> None:
        start.wait()
        for k in range(per_thread):
            i = t * per_thread + k
            outcome: int | BaseException
            try:
                outcome = log.record(entry(i))
            except BaseException as exc:
                outcome = exc
            with lock:
                outcomes[f"group-{i}"] = outcome

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.daemon = True  # a caller never woken must not hold up the test run
        w.start()
    deadline = time.monotonic() + 60
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(w.is_alive() for w in workers), "a caller was never woken"
    assert len(outcomes) == threads * per_thread
    failed = {rid for rid, got in outcomes.items() if isinstance(got, BaseException)}
    assert poisoned in failed
    for rid in failed:
        got = outcomes[rid]
        assert isinstance(got, StorageError | _Interrupt)
    stored = stored_request_ids(db)
    indexes = sorted(got for got in outcomes.values() if isinstance(got, int))
    assert indexes == list(range(len(indexes)))
    assert set(stored.values()) == set(outcomes) - failed
    assert verify_store(db).ok
    assert log.record(entry(10_000)) == len(indexes)
