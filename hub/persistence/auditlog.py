"""The access log in the shared database: entries, tree nodes and the head.

Appends from any number of threads and hub processes are serialised on the
head row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers
itself, every transaction taking the write lock at BEGIN), so indexes never
fork, repeat or skip. An entry, the tree nodes it completes and the new head
commit together, and together with whatever effect the entry records when
the caller passes its own session.

:meth:`SqlAccessLog.record` commits in groups: the thread that finds no
commit under way becomes the leader, takes every entry queued so far (its own
first among them) and appends them in one transaction; the others wait for
that commit and return their own index. Each caller still returns only once
its entry is durable, but concurrent requests share one head lock, one
frontier read and one commit. The leader keeps the frontier of the tree it
committed, so the next group skips that read when the head has not moved
(another process appending moves it, and the frontier is then read again).

Writers (the notifications outbox, :mod:`hub.persistence.outbox`) run inside
the transaction that appends entries, whichever path appended them, so what
they write commits or rolls back with the entries.

Listeners (the audit service's checkpoint policy) hear the new size after an
entry of :meth:`SqlAccessLog.record` commits; they must not fail the request,
whose entry is already durable, so a listener's hub error is logged and
dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hub.domain.auditlog.entry import AccessEntry, canonical_json
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import Frontier, Node, NodeKey
from hub.errors import HubError, StorageError
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow, AuditHead, AuditNode

__all__ = [
    "CORE_COLUMNS",
    "SEARCH_COLUMNS",
    "SqlAccessLog",
    "SqlNodeStore",
    "search_cells",
]

#: How many node keys go in one query.
_BATCH = 500
#: The most entries one group commit takes.
_GROUP = 256
_NODES = cast(Table, AuditNode.__table__)
_ENTRIES = cast(Table, AuditEntryRow.__table__)
_HEAD = cast(Table, AuditHead.__table__)
# The head's statements, built once and run on the session's connection
# (Core): building them and going through the ORM's execution layer cost
# about as much as the database work of a commit.
_HEAD_SIZE = select(_HEAD.c.size).where(_HEAD.c.id == 1)
_HEAD_SIZE_LOCKED = _HEAD_SIZE.with_for_update()
_SET_HEAD_SIZE = update(_HEAD).where(_HEAD.c.id == 1).values(size=bindparam("new_size"))
_INSERTS = {table.name: insert(table) for table in (_NODES, _ENTRIES)}

log = logging.getLogger(__name__)


class SqlNodeStore:
    """:class:`hub.domain.auditlog.tree.NodeStore` over ``audit_nodes``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def size(self) -> int:
        return int(self.session.scalar(select(AuditHead.size).where(AuditHead.id == 1)) or 0)

    def get_nodes(self, keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        found: dict[NodeKey, bytes] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), _BATCH):
            rows = self.session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                    _keys_clause(wanted[start : start + _BATCH])
                )
            )
            for level, idx, digest in rows:
                found[(int(level), int(idx))] = bytes(digest)
        return found

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        rows = [{"level": level, "idx": idx, "hash": digest} for level, idx, digest in nodes]
        _bulk_insert(self.session, _NODES, rows)


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in the session's transaction.

    PostgreSQL takes them with ``COPY … FROM STDIN``, several times faster
    than one ``INSERT`` per row; other databases get a Core executemany
    (not the ORM's bulk path, which adds its own bookkeeping).
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement = _INSERTS.get(table.name)
        connection.execute(insert(table) if statement is None else statement, rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    driver_error: type[Exception] = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    except driver_error as exc:
        raise StorageError("the database did not accept the access log rows") from exc
    finally:
        cursor.close()


def _keys_clause(keys: Iterable[NodeKey]) -> ColumnElement[bool]:
    # One ``level = ? AND idx IN (...)`` per level, OR-ed: both databases
    # answer each term from the primary key. (A row-value ``(level, idx) IN``
    # is the obvious form, but SQLite scans the whole table for it.)
    by_level: defaultdict[int, list[int]] = defaultdict(list)
    for level, idx in keys:
        by_level[level].append(idx)
    return or_(
        *(
            and_(AuditNode.level == level, AuditNode.idx.in_(indexes))
            for level, indexes in sorted(by_level.items())
        )
    )


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True)
class _Queued:
    """One entry waiting for a group commit, and what became of it."""

    entry: AccessEntry
    obj: dict[str, Any]
    data: bytes
    digest: bytes
    index: int = -1
    error: BaseException | None = None
    done: bool = False
    #: Held until the entry is settled or its thread is made the next leader:
    #: released once, it wakes exactly the thread waiting for this entry.
    wake: threading.Lock = field(default_factory=_held_lock)

    @classmethod
    def of(cls, entry: AccessEntry) -> _Queued:
        """The entry with its canonical bytes and leaf hash, ready to append."""
        obj = entry.to_json_obj()
        data = canonical_json(obj)
        return cls(entry, obj, data, leaf_hash(data))


def _entry_time(obj: Mapping[str, Any]) -> dt.datetime:
    # The entry spells its time ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (see
    # :mod:`hub.domain.auditlog.entry`); the column holds the same instant.
    text = obj["time"]
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError("the entry's time is not a UTC timestamp")
    return dt.datetime.fromisoformat(text[:-1] + "+00:00")


def _actor(key: str) -> Callable[[Mapping[str, Any]], object]:
    def get(obj: Mapping[str, Any]) -> object:
        actor = obj["actor"]
        if not isinstance(actor, Mapping):
            raise ValueError("the entry's actor is not an object")
        return actor[key]

    return get


def _field(key: str) -> Callable[[Mapping[str, Any]], object]:
    # Optional keys of older or newer entry versions read as NULL.
    return lambda obj: obj.get(key)


#: The one definition of the search columns of ``audit_entries``: each
#: column, and how its value follows from the logged entry (the JSON object
#: whose canonical bytes the leaf hash commits to). Appends write exactly
#: these values and ``hub audit verify`` recomputes them from the hashed
#: entry and compares every cell, so a column added to the table must be
#: added here; verify reports any column that is neither here nor in
#: :data:`CORE_COLUMNS`, and a unit test compares both sets with the table.
SEARCH_COLUMNS: Final[Mapping[str, Callable[[Mapping[str, Any]], object]]] = MappingProxyType(
    {
        "time": _entry_time,
        "action": _field("action"),
        "outcome": _field("outcome"),
        "actor_kind": _actor("kind"),
        "actor_id": _actor("id"),
        "subject": _field("subject"),
        "purpose": _field("purpose"),
        "evidence_type": _field("evidence_type"),
    }
)
#: The columns that are not copies: the index, the hashed bytes and their
#: leaf hash. Verify checks them against the tree, not against the entry.
CORE_COLUMNS: Final = frozenset({"idx", "entry", "leaf_hash"})


def search_cells(obj: Mapping[str, Any]) -> dict[str, object]:
    """The search columns' values for an entry given as its JSON object.

    Raises ``KeyError``, ``TypeError`` or ``ValueError`` when the object
    lacks what a column needs.
    """
    return {name: derive(obj) for name, derive in SEARCH_COLUMNS.items()}


def _row(index: int, item: _Queued) -> dict[str, object]:
    return {
        "idx": index,
        **search_cells(item.obj),
        "entry": item.data.decode("utf-8"),
        "leaf_hash": item.digest,
    }


def _unchanged(entry: AccessEntry) -> AccessEntry:
    return entry


class SqlAccessLog:
    """:class:`hub.audit.ports.AccessLog` on the hub's database."""

    def __init__(self, db: Database, *, group: int = _GROUP) -> None:
        self.db = db
        self._listeners: list[Callable[[int], None]] = []
        self._writers: list[Callable[[Session, list[AccessEntry]], None]] = []
        self._group = group
        self._queue: list[_Queued] = []
        # Guards the queue and the leader flag; held only to change them.
        self._mutex = threading.Lock()
        self._committing = False
        # The frontier after the last group this process committed; only
        # the leader of a group reads or replaces it.
        self._frontier: Frontier | None = None
        #: Fills in what every entry carries from the running hub (the catalogue
        #: version), set by ``hub.app``; entries are appended as returned.
        self.stamp: Callable[[AccessEntry], AccessEntry] = _unchanged

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(new_size)`` after each :meth:`record` commits."""
        self._listeners.append(listener)

    def add_writer(self, writer: Callable[[Session, list[AccessEntry]], None]) -> None:
        """Call ``writer(session, entries)`` in the transaction of every append."""
        self._writers.append(writer)

    def _lock_head(self, session: Session) -> int:
        query = _HEAD_SIZE if self.db.is_sqlite else _HEAD_SIZE_LOCKED
        size = session.connection().scalar(query)
        if size is None:
            raise StorageError("the access log has no head row; run 'hub db upgrade'")
        return int(size)

    def append_in(self, session: Session, entries: list[AccessEntry]) -> int:
        """Append entries inside ``session``'s transaction; the first index."""
        size, _ = self._append(session, [_Queued.of(self.stamp(e)) for e in entries], None)
        return size

    def _append(
        self, session: Session, queued: list[_Queued], known: Frontier | None
    ) -> tuple[int, Frontier]:
        size = self._lock_head(session)
        store = SqlNodeStore(session)
        frontier = (
            known.copy()
            if known is not None and known.size == size
            else Frontier.from_store(store, size)
        )
        store.put_nodes(frontier.extend([item.digest for item in queued]))
        _bulk_insert(
            session,
            _ENTRIES,
            [_row(size + i, item) for i, item in enumerate(queued)],
        )
        session.connection().execute(_SET_HEAD_SIZE, {"new_size": frontier.size})
        if self._writers:
            entries = [item.entry for item in queued]
            for writer in self._writers:
                writer(session, entries)
        return size, frontier

    def record(self, entry: AccessEntry) -> int:
        """Append one entry durably, sharing the commit with concurrent callers.

        One thread at a time leads: it commits the entries queued so far (up
        to a group) in one transaction, and wakes each of their threads; an
        entry that arrives meanwhile waits for the next group. When the
        leader's own entry is settled it hands the lead to the oldest waiting
        entry's thread. Each waiting thread is woken once, by its own lock,
        not with every commit: with tens of threads in the log, waking them
        all at each commit cost more context switches than the commits.
        """
        mine = _Queued.of(self.stamp(entry))
        with self._mutex:
            self._queue.append(mine)
            leading = not self._committing
            self._committing = True
        if not leading:
            # Released when a leader settles the entry or hands this thread the lead.
            mine.wake.acquire()
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            raise StorageError("the access log did not accept the entry") from mine.error
        for listener in self._listeners:
            try:
                listener(mine.index + 1)
            except HubError as exc:
                log.warning("access log listener failed", extra={"error": exc.slug})
        return mine.index

    def _lead(self, mine: _Queued) -> None:
        """Commit groups until ``mine`` is settled, then pass the lead on."""
        try:
            while not mine.done:
                with self._mutex:
                    group = self._queue[: self._group]
                    del self._queue[: self._group]
                try:
                    self._commit(group)
                finally:
                    # Settled, even by an error: each member's thread may go on.
                    for item in group:
                        if item is not mine:
                            item.wake.release()
        finally:
            with self._mutex:
                if self._queue:
                    # The oldest waiting entry's thread leads next.
                    self._queue[0].wake.release()
                else:
                    self._committing = False

    def _commit(self, group: list[_Queued]) -> None:
        """Append ``group`` in one transaction and settle every member."""
        try:
            with self.db.session() as session:
                first, frontier = self._append(session, group, self._frontier)
        except BaseException as exc:
            self._frontier = None
            for item in group:
                item.error, item.done = exc, True
            if not isinstance(exc, Exception):
                raise
            return
        self._frontier = frontier
        for offset, item in enumerate(group):
            item.index, item.done = first + offset, True

    def size(self) -> int:
        try:
            with self.db.session() as session:
                return SqlNodeStore(session).size()
        except SQLAlchemyError as exc:  # pragma: no cover - session() already maps
            raise StorageError("the access log is unavailable") from exc

    @staticmethod
    def decode(row_entry: str) -> dict[str, object]:
        data: dict[str, object] = json.loads(row_entry)
        return data
