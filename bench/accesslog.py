"""Durable access-log appends against raw inserts of the same rows.

The hub's :class:`~hub.persistence.auditlog.SqlAccessLog` appends an entry
by locking the log head, reading the tree frontier, writing the entry, the
tree nodes it completes and the new head, and committing. The floor is the
least a durable log row can cost on the same database with the same
settings: the same row (precomputed) in a table of the same shape and
indexes, written with the driver's plain ``INSERT`` and a ``COMMIT``.

Each is measured one commit per entry from one thread, one commit per entry
from several threads at once (the hub serves requests concurrently), and in
batches of 100 per commit (what group commit would buy).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Index, MetaData, Table

from bench.config import BenchConfig
from bench.databases import BenchDatabase
from bench.report import Figure, Target
from bench.stats import Rate, timed_rate
from hub.domain.auditlog.entry import AccessEntry, Actor, canonical_json
from hub.domain.auditlog.merkle import leaf_hash
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow

__all__ = ["measure_access_log"]

BATCH = 100
RAW_TABLE = "bench_raw_entries"
POSTGRES_TARGET = Target("≥ 3,000/s on PostgreSQL", ">=", 3000.0)

_COLUMNS = (
    "idx",
    "time",
    "action",
    "outcome",
    "actor_kind",
    "actor_id",
    "subject",
    "purpose",
    "evidence_type",
    "entry",
    "leaf_hash",
)


def _entry(number: int) -> AccessEntry:
    """A granted evidence request, like the ones the hub logs."""
    return AccessEntry(
        time=dt.datetime.now(dt.UTC),
        actor=Actor("agency", "opeka", "bench.runner"),
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{100000000 + number % 899999999:09d}",
        evidence_type="family-status",
        purpose="social-benefit-eligibility",
        legal_basis="Ν. 4756/2020 άρθ. 235 — demo reference",
        fields=("children", "marital_status", "number_of_children"),
        request_id=uuid.uuid4().hex,
        response_digest="sha256:" + "0" * 64,
    )


class _RawTable:
    """A table shaped like ``audit_entries`` and plain driver inserts into it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        metadata = MetaData()
        source = Table(AuditEntryRow.__tablename__, AuditEntryRow.metadata)
        self.table = Table(RAW_TABLE, metadata, *(column._copy() for column in source.columns))
        for index in source.indexes:
            Index(
                f"bench_{index.name}",
                *(self.table.c[column.name] for column in index.columns),
            )
        metadata.drop_all(db.engine)
        metadata.create_all(db.engine)
        self.sqlite = db.is_sqlite
        marks = ", ".join("?" if self.sqlite else "%s" for _ in _COLUMNS)
        self.sql = f"INSERT INTO {RAW_TABLE} ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - constant names
        self._next = 0
        self._lock = threading.Lock()
        self._connections: list[Any] = []

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()

    def rows(self, count: int) -> list[tuple[Any, ...]]:
        """``count`` rows with fresh indexes, as the hub would write them."""
        with self._lock:
            start = self._next
            self._next += count
        out: list[tuple[Any, ...]] = []
        for number in range(start, start + count):
            entry = _entry(number)
            data = canonical_json(entry.to_json_obj())
            when: Any = entry.time.isoformat(sep=" ") if self.sqlite else entry.time
            out.append(
                (
                    number,
                    when,
                    entry.action,
                    entry.outcome,
                    entry.actor.kind,
                    entry.actor.id,
                    entry.subject,
                    entry.purpose,
                    entry.evidence_type,
                    data.decode("utf-8"),
                    leaf_hash(data),
                )
            )
        return out

    def writer(self, batch: int, prepared: int) -> Callable[[], None]:
        """A function that inserts ``batch`` precomputed rows and commits, per call."""
        connection = self.db.engine.raw_connection()
        self._connections.append(connection)
        rows = self.rows(prepared)
        position = 0

        def write() -> None:
            nonlocal position, rows
            if position + batch > len(rows):
                rows = self.rows(prepared)
                position = 0
            chunk = rows[position : position + batch]
            position += batch
            cursor = connection.cursor()
            if self.sqlite:
                # The hub's engine turns off the sqlite3 module's implicit
                # transactions, so the raw connection begins its own.
                cursor.execute("BEGIN IMMEDIATE")
            if batch == 1:
                cursor.execute(self.sql, chunk[0])
            else:
                cursor.executemany(self.sql, chunk)
            if self.sqlite:
                cursor.execute("COMMIT")
            else:
                connection.commit()
            cursor.close()

        return write


def _threaded(make: Callable[[], Callable[[], None]], threads: int, seconds: float) -> Rate:
    """Run one action per thread for ``seconds``; the total rate of all of them."""
    actions = [make() for _ in range(threads)]
    counts = [0] * threads
    stop = threading.Event()
    failures: list[BaseException] = []

    def loop(slot: int) -> None:
        try:
            while not stop.is_set():
                actions[slot]()
                counts[slot] += 1
        except BaseException as exc:
            failures.append(exc)
            raise

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(30)
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"an append thread failed: {failures[0]!r}") from failures[0]
    return Rate(sum(counts), elapsed)


def measure_access_log(config: BenchConfig, database: BenchDatabase) -> list[Figure]:
    """Append rates of the hub's log and of raw inserts on one (migrated) database."""
    db = Database(database.url, pool_size=max(10, config.append_threads + 2))
    crowd = config.append_crowd
    raw: _RawTable | None = None
    try:
        log = SqlAccessLog(db)
        raw = _RawTable(db)
        entries = [_entry(n) for n in range(BATCH)]
        seconds = config.db_seconds
        threads = config.append_threads

        def hub_one() -> Callable[[], None]:
            def append() -> None:
                log.record(entries[0])

            return append

        def hub_batch() -> None:
            with db.session() as session:
                log.append_in(session, entries)

        single = timed_rate(hub_one(), seconds=seconds)
        single_raw = timed_rate(raw.writer(1, 2000), seconds=seconds)
        many = _threaded(hub_one, threads, seconds)
        many_raw = _threaded(lambda: raw.writer(1, 500), threads, seconds)
        crowded = _threaded(hub_one, crowd, seconds)
        batched = timed_rate(hub_batch, seconds=seconds)
        batched_raw = timed_rate(raw.writer(BATCH, 20 * BATCH), seconds=seconds)
    finally:
        if raw is not None:
            raw.close()
        db.dispose()
    section = f"access log {database.label}"
    target = POSTGRES_TARGET if database.label == "PostgreSQL" else None
    return [
        Figure(
            section,
            "record(), 1 commit each",
            single.per_second,
            "appends/s",
            "raw INSERT+COMMIT",
            single_raw.per_second,
            target=target,
        ),
        Figure(
            section,
            f"record(), 1 commit each, {threads} threads",
            many.per_second,
            "appends/s",
            f"raw INSERT+COMMIT, {threads} threads",
            many_raw.per_second,
            target=target,
        ),
        Figure(
            section,
            f"record(), 1 commit each, {crowd} threads",
            crowded.per_second,
            "appends/s",
            f"raw INSERT+COMMIT, {threads} threads",
            many_raw.per_second,
            target=target,
            note="every caller waits for its own durable commit; concurrent callers share it",
        ),
        Figure(
            section,
            f"append_in() of {BATCH}, 1 commit",
            batched.per_second * BATCH,
            "appends/s",
            f"raw executemany of {BATCH}+COMMIT",
            batched_raw.per_second * BATCH,
        ),
    ]
