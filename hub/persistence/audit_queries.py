"""The access log's read side in SQL: checkpoints, searches, exports, verification.

:class:`SqlAuditStore` implements the read ports of
:mod:`hub.audit.service` on the tables that
:mod:`hub.persistence.auditlog` appends to.

:func:`verify_store` is what ``hub audit verify`` runs on the live database.
It trusts nothing it reads: it recomputes every entry's leaf hash from the
stored canonical bytes, compares it with the ``leaf_hash`` column and with the
stored level-0 node, recomputes every stored subtree hash, checks the rebuilt
tree head at the size of every signed checkpoint and each checkpoint row
against its note, and derives every search column from the hashed entry
(by :data:`hub.persistence.auditlog.SEARCH_COLUMNS`) to compare it with the
stored cell. Then it holds the consent and certificate rows, the state that
gates access, to the log (:mod:`hub.domain.auditlog.gating`). It walks the
log in index order, one batch per short transaction, so that it needs memory
for one batch whatever the size of the log and never holds SQLite's write
lock for long. A fault in the tree stops it and is *located*: the first bad
index and what happened there, an entry altered, missing, inserted or moved,
or a rewritten tree or checkpoint. A cell or a row that contradicts the log
is listed with its index or row id, and the walk goes on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import DateTime, Row, Select, String, Table, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.audit.models import EntryQuery, LoggedEntry, StoredCheckpoint
from hub.audit.service import checkpoint_time
from hub.domain.auditlog.checkpoint import Checkpoint, NoteVerifier, parse_note, verify_note
from hub.domain.auditlog.errors import MalformedNote, NoteError
from hub.domain.auditlog.gating import CertificateState, ConsentState, StateAudit
from hub.domain.auditlog.merkle import EMPTY_ROOT, leaf_hash
from hub.domain.auditlog.tree import Frontier, Node
from hub.domain.auditlog.verify import Fault, Finding, LogVerificationReport
from hub.persistence.auditlog import CORE_COLUMNS, SEARCH_COLUMNS, SqlNodeStore
from hub.persistence.certificate_models import CertificateRow
from hub.persistence.consent_models import ConsentRow
from hub.persistence.db import Database
from hub.persistence.models import AuditCheckpoint, AuditEntryRow, AuditHead, AuditNode

__all__ = ["MAX_FINDINGS", "VERIFY_BATCH", "SqlAuditStore", "iter_records", "verify_store"]

#: Entries per transaction when verifying or exporting the live log.
VERIFY_BATCH = 8192


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; the hub stores UTC only.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _checkpoint(row: AuditCheckpoint) -> StoredCheckpoint:
    return StoredCheckpoint(int(row.size), bytes(row.root_hash), row.note, _utc(row.created_at))


def _logged(row: Row[int, str, bytes]) -> LoggedEntry:
    return LoggedEntry(int(row.idx), json.loads(row.entry), bytes(row.leaf_hash))


def _head_size(session: Session) -> int:
    return int(session.scalar(select(AuditHead.size).where(AuditHead.id == 1)) or 0)


class SqlAuditStore:
    """``TreeReader``, ``CheckpointStore`` and ``EntryStore`` on the hub's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # TreeReader

    @contextmanager
    def reading(self) -> Iterator[SqlNodeStore]:
        with self.db.session() as session:
            yield SqlNodeStore(session)

    # CheckpointStore

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self.db.session() as session:
            row = session.scalars(
                select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
            ).first()
            return None if row is None else _checkpoint(row)

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        with self.db.session() as session:
            row = session.get(AuditCheckpoint, size)
            return None if row is None else _checkpoint(row)

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> tuple[StoredCheckpoint, bool]:
        with self.db.session() as session:
            existing = session.get(AuditCheckpoint, checkpoint.size)
            if existing is not None:
                return _checkpoint(existing), False
            try:
                # A savepoint, so that losing a race with another hub process
                # leaves the transaction usable to read the winner's row.
                with session.begin_nested():
                    session.add(
                        AuditCheckpoint(
                            size=checkpoint.size,
                            root_hash=checkpoint.root_hash,
                            note=checkpoint.note,
                            created_at=checkpoint.created_at,
                        )
                    )
            except IntegrityError:
                winner = session.get(AuditCheckpoint, checkpoint.size, populate_existing=True)
                if winner is None:  # pragma: no cover - the conflict names this row
                    raise
                return _checkpoint(winner), False
            return checkpoint, True

    def checkpoints(self, *, below: int | None, limit: int) -> list[StoredCheckpoint]:
        query = select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(limit)
        if below is not None:
            query = query.where(AuditCheckpoint.size < below)
        with self.db.session() as session:
            return [_checkpoint(row) for row in session.scalars(query)]

    # EntryStore

    def entry_at(self, index: int) -> LoggedEntry | None:
        with self.db.session() as session:
            row = session.execute(
                select(AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash).where(
                    AuditEntryRow.idx == index
                )
            ).first()
            return None if row is None else _logged(row)

    def find_entries(
        self, query: EntryQuery, *, below: int | None, limit: int
    ) -> list[LoggedEntry]:
        stmt = _filtered(
            select(AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash), query
        )
        if below is not None:
            stmt = stmt.where(AuditEntryRow.idx < below)
        stmt = stmt.order_by(AuditEntryRow.idx.desc()).limit(limit)
        with self.db.session() as session:
            return [_logged(row) for row in session.execute(stmt)]


def _filtered(stmt: Select[int, str, bytes], query: EntryQuery) -> Select[int, str, bytes]:
    """The search filters on the indexed copies of the entry's fields."""
    if query.citizen is not None:
        stmt = stmt.where(AuditEntryRow.subject == query.citizen)
    if query.agency is not None:
        stmt = stmt.where(AuditEntryRow.actor_kind == "agency").where(
            AuditEntryRow.actor_id == query.agency
        )
    if query.purpose is not None:
        stmt = stmt.where(AuditEntryRow.purpose == query.purpose)
    if query.action is not None:
        stmt = stmt.where(AuditEntryRow.action == query.action)
    if query.outcome is not None:
        stmt = stmt.where(AuditEntryRow.outcome == query.outcome)
    # Times are stored in UTC; SQLite compares their text, so bind UTC too.
    if query.since is not None:
        stmt = stmt.where(AuditEntryRow.time >= query.since.astimezone(dt.UTC))
    if query.until is not None:
        stmt = stmt.where(AuditEntryRow.time < query.until.astimezone(dt.UTC))
    return stmt


def iter_records(db: Database, end: int, *, batch: int = VERIFY_BATCH) -> Iterator[dict[str, Any]]:
    """Export records ``{index, entry, leaf_hash}`` of entries ``[0, end)``, in order.

    The rows are read as stored, a batch per transaction, so that an export
    of any size runs in constant memory.
    """
    last = -1
    while True:
        with db.session() as session:
            rows = session.execute(
                select(AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash)
                .where(AuditEntryRow.idx > last, AuditEntryRow.idx < end)
                .order_by(AuditEntryRow.idx)
                .limit(batch)
            ).all()
        if not rows:
            return
        for row in rows:
            yield _logged(row).to_json_obj()
        last = int(rows[-1].idx)


# -- verification of the live store -------------------------------------------------

#: The most findings one report lists; a store rewritten wholesale would
#: otherwise produce one per row.
MAX_FINDINGS = 1000
_ENTRIES = cast(Table, AuditEntryRow.__table__)


class _Found(Exception):
    """Carries a fault that stops the walk (the tree no longer holds) out of it."""

    def __init__(self, finding: Finding, checkpoint_size: int | None = None) -> None:
        super().__init__(finding.message)
        self.finding = finding
        self.checkpoint_size = checkpoint_size


def _fault(
    fault: Fault,
    message: str,
    *,
    index: int | None = None,
    checkpoint_size: int | None = None,
) -> _Found:
    return _Found(Finding(fault, index, message), checkpoint_size)


class _Findings:
    """The faults that do not stop the walk (a cell, a row), up to a bound."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.dropped = 0

    def add(self, finding: Finding) -> None:
        if len(self.items) < MAX_FINDINGS:
            self.items.append(finding)
        else:
            self.dropped += 1

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def listed(self) -> tuple[Finding, ...]:
        if not self.dropped:
            return tuple(self.items)
        more = Finding(Fault.ALTERED, None, f"{self.dropped} more findings are not listed")
        return (*self.items, more)


def verify_store(
    db: Database,
    *,
    verifier: NoteVerifier | Sequence[NoteVerifier] | None = None,
    origin: str | None = None,
    batch: int = VERIFY_BATCH,
) -> LogVerificationReport:
    """Check every stored cell of the log, and the state that gates access, against the log.

    Without ``verifier`` the checkpoints' signatures are not checked, only
    that each row agrees with its note; pass the log key to hold them to
    their signatures. A fault in the tree (an entry, a leaf, a node or a
    checkpoint that no longer fits) stops the walk; a search cell or a
    consent or certificate row that contradicts its entry is recorded and
    the walk goes on, so the report lists every one of them.
    """
    found = _Findings()
    state = StateAudit()
    with db.session() as session:
        # Checkpoints before the head: a checkpoint signed meanwhile is then
        # never larger than the head read.
        rows = session.execute(
            select(
                AuditCheckpoint.size,
                AuditCheckpoint.root_hash,
                AuditCheckpoint.note,
                AuditCheckpoint.created_at,
            ).order_by(AuditCheckpoint.size)
        ).all()
        heads = session.execute(select(AuditHead.id, AuditHead.size)).all()
        size = _head_size(session)
    checkpoints = [(int(r.size), bytes(r.root_hash), str(r.note), _utc(r.created_at)) for r in rows]
    walk: _Walk | None = None
    try:
        _check_head(heads, size)
        targets = _signed_roots(checkpoints, size, verifier, origin)
        found.extend(_unmapped_columns())
        walk = _Walk(db, targets, batch, found=found, state=state)
        walk.to(size)
        _reconcile(db, walk, batch)
        _check_beyond(db, walk.size)
        found.extend(state.finish())
    except _Found as stop:
        # A tree that no longer holds is the graver fault: it leads the report.
        found.items.insert(0, stop.finding)
        entries = size if walk is None else walk.size
        return _report(found, entries, None, stop.checkpoint_size)
    return _report(found, walk.size, walk.root(), max(targets, default=None), len(targets))


def _current_size(db: Database) -> int:
    with db.session() as session:
        return _head_size(session)


def _report(
    found: _Findings,
    size: int,
    root_hash: bytes | None,
    checkpoint_size: int | None,
    checkpoints: int = 0,
) -> LogVerificationReport:
    findings = found.listed()
    if not findings:
        assert root_hash is not None  # noqa: S101  # only a stopped walk lacks a root
        return LogVerificationReport(
            ok=True,
            entries=size,
            root=root_hash.hex(),
            checkpoint_size=checkpoint_size,
            first_bad_index=None,
            fault=None,
            message=f"{size} entries, every stored cell, every tree node, "
            f"{checkpoints} signed checkpoints and the consent and certificate rows agree",
        )
    first = findings[0]
    more = len(findings) - 1
    return LogVerificationReport(
        ok=False,
        entries=size,
        root=None if root_hash is None else root_hash.hex(),
        checkpoint_size=checkpoint_size,
        first_bad_index=first.index,
        fault=first.fault,
        message=first.message if not more else f"{first.message} (and {more} more findings)",
        findings=findings,
    )


def _check_head(heads: Sequence[Row[int, int]], size: int) -> None:
    """The log has one head row, ``id = 1``, counting a non-negative size."""
    others = sorted(int(r.id) for r in heads if int(r.id) != 1)
    if others:
        raise _fault(
            Fault.INSERTED, f"audit_head holds a row with id {others[0]}; the log has one head"
        )
    if size < 0:
        raise _fault(Fault.ALTERED, f"audit_head counts {size} entries")


def _unmapped_columns() -> list[Finding]:
    """A column of ``audit_entries`` that no rule derives from the entry is a finding.

    It would hold data the log does not vouch for, which searches might
    read; the rule belongs in :data:`hub.persistence.auditlog.SEARCH_COLUMNS`.
    """
    known = CORE_COLUMNS | set(SEARCH_COLUMNS)
    return [
        Finding(
            Fault.MALFORMED,
            None,
            f"column {name} of audit_entries is not derived from the entry; "
            "verify cannot vouch for it",
        )
        for name in _ENTRIES.columns.keys()  # noqa: SIM118  # a column collection, not a dict
        if name not in known
    ]


def _signed_roots(
    checkpoints: Sequence[tuple[int, bytes, str, dt.datetime]],
    size: int,
    verifier: NoteVerifier | Sequence[NoteVerifier] | None,
    origin: str | None,
) -> dict[int, bytes]:
    """The tree head each checkpoint signs, by size, once its row agrees with its note."""
    targets: dict[int, bytes] = {}
    for cp_size, root_hash, note, created_at in checkpoints:
        body = _open_checkpoint(cp_size, note, verifier, origin)
        for column, stored, signed in (
            ("size", cp_size, body.size),
            ("root_hash", root_hash, body.root_hash),
        ):
            if stored != signed:
                raise _fault(
                    Fault.ALTERED,
                    f"checkpoint of size {cp_size}: column {column} differs from its signed note",
                    checkpoint_size=cp_size,
                )
        signed_time = checkpoint_time(body)
        if signed_time is not None and signed_time != created_at:
            raise _fault(
                Fault.ALTERED,
                f"checkpoint of size {cp_size}: column created_at differs from its signed note",
                checkpoint_size=cp_size,
            )
        if cp_size > size:
            raise _fault(
                Fault.MISSING,
                f"a signed checkpoint covers {cp_size} entries but the log holds {size}: "
                "entries were removed from its end",
                index=size,
                checkpoint_size=cp_size,
            )
        targets[cp_size] = root_hash
    if targets.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        raise _fault(Fault.ROOT_MISMATCH, "the checkpoint of size 0 is not the empty tree")
    return targets


def _open_checkpoint(
    size: int, note: str, verifier: NoteVerifier | Sequence[NoteVerifier] | None, origin: str | None
) -> Checkpoint:
    """The checkpoint a stored note states: signature-checked when a key is given."""
    try:
        if verifier is not None:
            return verify_note(note, verifier, origin=origin)
        text, _ = parse_note(note)
        return Checkpoint.from_text(text)
    except MalformedNote as exc:
        raise _fault(
            Fault.MALFORMED, f"checkpoint of size {size}: {exc.detail}", checkpoint_size=size
        ) from exc
    except NoteError as exc:
        raise _fault(
            Fault.BAD_SIGNATURE, f"checkpoint of size {size}: {exc.detail}", checkpoint_size=size
        ) from exc


class _Walk:
    """Rebuilds the tree from the stored entries in index order, checking every cell.

    :meth:`to` walks on to a larger size, so that the entries a running hub
    appends while it is checked are checked too.
    """

    def __init__(
        self,
        db: Database,
        targets: dict[int, bytes],
        batch: int,
        *,
        found: _Findings,
        state: StateAudit,
    ) -> None:
        self.db = db
        self.targets = targets
        self.batch = batch
        self.found = found
        self.state = state
        self.cells = _CellCheck(db)
        self.frontier = Frontier()
        self.vouched = 0  # Every entry below this is covered by a matching checkpoint.

    @property
    def size(self) -> int:
        return self.frontier.size

    def root(self) -> bytes:
        return self.frontier.root()

    def to(self, size: int) -> None:
        """Walk entries ``[self.size, size)``, a batch per short transaction."""
        while self.frontier.size < size:
            self._batch(self.frontier.size, min(self.frontier.size + self.batch, size))

    def _batch(self, start: int, end: int) -> None:
        db, frontier = self.db, self.frontier
        with db.session() as session:
            entries = {
                int(r.idx): r
                for r in session.execute(
                    select(*self.cells.columns).where(
                        AuditEntryRow.idx >= start, AuditEntryRow.idx < end
                    )
                )
            }
            leaves = {
                int(r.idx): bytes(r.hash)
                for r in session.execute(
                    select(AuditNode.idx, AuditNode.hash).where(
                        AuditNode.level == 0, AuditNode.idx >= start, AuditNode.idx < end
                    )
                )
            }
        emitted: list[Node] = []
        for index in range(start, end):
            row = entries.get(index)
            computed = _check_leaf(db, index, row, leaves.get(index), end)
            assert row is not None  # noqa: S101  # _check_leaf stops at a missing row
            self.cells.check(index, cast(Sequence[Any], row), self.found, self.state)
            emitted.extend(frontier.append(computed))
            wanted = self.targets.get(frontier.size)
            if wanted is not None:
                if frontier.root() != wanted:
                    _check_nodes(db, emitted, end)
                    raise _fault(
                        Fault.ROOT_MISMATCH,
                        f"entries {self.vouched} to {frontier.size - 1} and their tree were "
                        f"rewritten: the signed checkpoint of size {frontier.size} no "
                        "longer matches",
                        index=self.vouched,
                        checkpoint_size=frontier.size,
                    )
                self.vouched = frontier.size
        _check_nodes(db, emitted, end)


def _stored_time(value: object) -> object:
    """A stored time cell as an aware UTC datetime (anything unreadable stays as is)."""
    if isinstance(value, str):
        # SQLite's text, read here rather than by SQLAlchemy's slower parser.
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return _utc(value) if isinstance(value, dt.datetime) else value


class _CellCheck:
    """The search cells of a batch of rows against the hashed entries they copy.

    Built once per verification from :data:`SEARCH_COLUMNS`: the columns to
    select, after the index, the entry and its leaf hash, and per column the
    rule that derives its value from the entry and the reader that
    normalises what the database returns.
    """

    def __init__(self, db: Database) -> None:
        self.rules = list(SEARCH_COLUMNS.items())
        self.columns: list[Any] = [AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash]
        self.readers: list[Callable[[object], object] | None] = []
        for name, _ in self.rules:
            column = _ENTRIES.c[name]
            if isinstance(column.type, DateTime):
                self.columns.append(
                    type_coerce(column, String).label(name) if db.is_sqlite else column
                )
                self.readers.append(_stored_time)
            else:
                self.columns.append(column)
                self.readers.append(None)

    def check(self, index: int, row: Sequence[Any], found: _Findings, state: StateAudit) -> None:
        """Every search cell of entry ``index``; the entry then goes to ``state``."""
        try:
            obj = json.loads(row[1])
            if not isinstance(obj, dict):
                raise TypeError("an entry is a JSON object")
            expected = [derive(obj) for _, derive in self.rules]
        except (ValueError, TypeError, KeyError):
            found.add(
                Finding(
                    Fault.MALFORMED,
                    index,
                    "the entry is not a JSON object with the logged fields; "
                    "its columns cannot be checked",
                )
            )
            return
        for (name, _), read, value, stored in zip(
            self.rules, self.readers, expected, row[3:], strict=True
        ):
            if (stored if read is None or stored is None else read(stored)) != value:
                found.add(Finding(Fault.ALTERED, index, f"column {name} differs from its entry"))
        state.observe(index, obj)


def _check_leaf(
    db: Database,
    index: int,
    row: Row[Any] | None,
    stored: bytes | None,
    size: int,
) -> bytes:
    """The leaf hash of entry ``index`` once its row and tree leaf agree."""
    if row is None:
        raise _fault(Fault.MISSING, f"entry {index} is missing from the store", index=index)
    computed = leaf_hash(str(row.entry).encode("utf-8"))
    if stored is None:
        raise _fault(Fault.MISSING, f"the tree has no leaf for entry {index}", index=index)
    if computed != stored:
        fault, message = _classify(db, index, computed, stored)
        raise _fault(fault, message, index=index)
    if bytes(row.leaf_hash) != computed:
        raise _fault(Fault.ALTERED, "column leaf_hash differs from its entry", index=index)
    return computed


def _entry_hash(session: Session, index: int) -> bytes | None:
    text = session.scalar(select(AuditEntryRow.entry).where(AuditEntryRow.idx == index))
    return None if text is None else leaf_hash(text.encode("utf-8"))


def _classify(db: Database, index: int, computed: bytes, stored: bytes) -> tuple[Fault, str]:
    """Tell an edited entry at ``index`` from a moved, removed or inserted one.

    The row at ``index`` hashes to ``computed`` where the tree says
    ``stored``. If the tree knows ``computed`` as another leaf, the entry was
    moved there from elsewhere (a swap, or a deletion that renumbered the
    later rows); if the next row holds the entry the tree expects here, a
    row was inserted before it; otherwise the entry was edited.
    """
    with db.session() as session:
        elsewhere = session.scalar(
            select(AuditNode.idx)
            .where(AuditNode.level == 0, AuditNode.hash == computed, AuditNode.idx != index)
            .order_by(AuditNode.idx)
            .limit(1)
        )
        if elsewhere is not None:
            other = int(elsewhere)
            if _entry_hash(session, other) == stored:
                return Fault.REORDERED, f"entries {index} and {other} were swapped"
            if other == index + 1:
                return Fault.MISSING, f"entry {index} was removed and later entries renumbered"
            if other < index:
                return Fault.INSERTED, f"entry {index} was replaced by a copy of entry {other}"
            return Fault.REORDERED, f"entry {other} was moved to index {index}"
        if _entry_hash(session, index + 1) == stored:
            return Fault.INSERTED, f"an entry was inserted at index {index}"
    return Fault.ALTERED, f"entry {index} does not hash to its leaf in the tree"


def _check_nodes(db: Database, emitted: Sequence[Node], size: int) -> None:
    """Compare the interior nodes the rebuilt tree completed with the stored ones."""
    by_level: dict[int, dict[int, bytes]] = {}
    for level, index, digest in emitted:
        if level:
            by_level.setdefault(level, {})[index] = digest
    first_bad: tuple[int, int, int] | None = None  # (first leaf, level, index)
    with db.session() as session:
        for level, mine in by_level.items():
            low, high = min(mine), max(mine)
            stored = {
                int(r.idx): bytes(r.hash)
                for r in session.execute(
                    select(AuditNode.idx, AuditNode.hash).where(
                        AuditNode.level == level, AuditNode.idx >= low, AuditNode.idx <= high
                    )
                )
            }
            for index, digest in mine.items():
                if stored.get(index) != digest:
                    where = (index << level, level, index)
                    if first_bad is None or where < first_bad:
                        first_bad = where
    if first_bad is not None:
        leaf, level, index = first_bad
        raise _fault(
            Fault.ALTERED,
            f"tree node ({level}, {index}) over entries {leaf} to {leaf + (1 << level) - 1} "
            "differs from the entries: the stored tree was rewritten",
            index=leaf,
        )


def _check_beyond(db: Database, size: int) -> None:
    """Rows and nodes the head does not count were inserted behind its back.

    The walk compared every node a tree of ``size`` leaves completes, so a
    stored node it did not meet lies outside that tree: at level ``l`` the
    tree has nodes ``0 … (size >> l) - 1``. A running hub may have appended
    since; an append commits its rows with the head, so a row the head read
    *after* finding it counts is not an insertion, and the check moves on.
    """
    floor = size
    while True:
        with db.session() as session:
            outside = _outside(session, floor)
        if outside is None:
            return
        head = _current_size(db)
        if head <= floor or outside[1] < 0:
            raise outside[0]
        floor = head


def _outside(session: Session, size: int) -> tuple[_Found, int] | None:
    """The first entry or node outside a tree of ``size`` leaves, as a fault and its index."""
    row = session.scalar(
        select(func.min(AuditEntryRow.idx)).where(
            (AuditEntryRow.idx >= size) | (AuditEntryRow.idx < 0)
        )
    )
    if row is not None:
        return (
            _fault(
                Fault.INSERTED,
                f"entry {int(row)} lies outside the log, which holds {size} entries",
                index=int(row),
            ),
            int(row),
        )
    levels = [int(level) for level in session.scalars(select(AuditNode.level).distinct())]
    for level in sorted(levels):
        width = size >> level if 0 <= level < 64 else 0
        node = session.scalar(
            select(func.min(AuditNode.idx)).where(
                AuditNode.level == level, (AuditNode.idx >= width) | (AuditNode.idx < 0)
            )
        )
        if node is None:
            continue
        where = f"a leaf {int(node)}" if level == 0 else f"a node ({level}, {int(node)})"
        index = int(node) if level == 0 else None
        found = _fault(
            Fault.INSERTED, f"the tree holds {where} outside the log of {size} entries", index=index
        )
        return found, int(node) if 0 <= level < 64 else -1
    return None


# -- the state that gates access ----------------------------------------------------


def _reconcile(db: Database, walk: _Walk, batch: int) -> None:
    """Hold every consent and certificate row to the log, a batch at a time.

    The hub may keep appending meanwhile. Every change of a consent or a
    certificate commits with its entry and the head, so a batch of rows
    read after the log reached ``walk.size`` shows every fact logged below
    that, and no fact logged beyond the head read after the batch: the walk
    goes on to that head before the batch is compared.
    """
    state = walk.state
    for rows in _keyset(db, _CONSENT_COLUMNS, ConsentRow.id, batch, walk):
        state.consents(
            ConsentState(
                id=str(r.id),
                agency_id=str(r.agency_id),
                subject=str(r.subject),
                purpose=str(r.purpose),
                evidence_types=_types(r.evidence_types),
                granted_at=_utc(r.granted_at),
                revoked_at=None if r.revoked_at is None else _utc(r.revoked_at),
                once=bool(r.once),
                used_at=None if r.used_at is None else _utc(r.used_at),
                use_count=int(r.use_count),
            )
            for r in rows
        )
    for rows in _keyset(db, _CERTIFICATE_COLUMNS, CertificateRow.code, batch, walk):
        state.certificates(
            CertificateState(
                code=str(r.code),
                subject=str(r.subject),
                evidence_type=str(r.evidence_type),
                pdf_sha256=str(r.pdf_sha256),
                issued_at=_utc(r.issued_at),
                status=str(r.status),
                revoked_at=None if r.revoked_at is None else _utc(r.revoked_at),
                revoked_by=r.revoked_by,
            )
            for r in rows
        )


_CONSENT_COLUMNS: list[InstrumentedAttribute[Any]] = [
    ConsentRow.id,
    ConsentRow.agency_id,
    ConsentRow.subject,
    ConsentRow.purpose,
    ConsentRow.evidence_types,
    ConsentRow.granted_at,
    ConsentRow.revoked_at,
    ConsentRow.once,
    ConsentRow.used_at,
    ConsentRow.use_count,
]
# Not the PDF itself: the record's digest of it is what the log names.
_CERTIFICATE_COLUMNS: list[InstrumentedAttribute[Any]] = [
    CertificateRow.code,
    CertificateRow.subject,
    CertificateRow.evidence_type,
    CertificateRow.pdf_sha256,
    CertificateRow.issued_at,
    CertificateRow.status,
    CertificateRow.revoked_at,
    CertificateRow.revoked_by,
]


def _types(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def _keyset(
    db: Database,
    columns: list[InstrumentedAttribute[Any]],
    key: InstrumentedAttribute[str],
    batch: int,
    walk: _Walk,
) -> Iterator[list[Row[Any]]]:
    """A table's rows in key order, a batch per short transaction.

    Before each batch the state hears how far the log was read; after it,
    the walk reads the log on to the head.
    """
    last: str | None = None
    while True:
        query = select(*columns).order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        walk.state.begin_rows(walk.size)
        with db.session() as session:
            rows = list(session.execute(query).all())
        if not rows:
            return
        walk.to(_current_size(db))
        yield rows
        last = str(rows[-1]._mapping[key.key])
