"""The access log's read side in SQL: checkpoints, searches, exports, verification.

:class:`SqlAuditStore` implements the read ports of
:mod:`hub.domain.auditlog.service` on the tables that
:mod:`hub.persistence.auditlog` appends to.

:func:`verify_store` is what ``hub audit verify`` runs on the live database.
It trusts nothing it reads: it recomputes every entry's leaf hash from the
stored canonical bytes, compares it with the ``leaf_hash`` column and with the
stored level-0 node, recomputes every stored subtree hash, and checks the
rebuilt tree head at the size of every signed checkpoint. It walks the log
in index order, one batch per short transaction, so that it needs memory for
one batch whatever the size of the log and never holds SQLite's write lock
for long. The first fault stops it and is *located*: the first bad index and
what happened there, an entry altered, missing, inserted or moved, or a
rewritten tree or checkpoint.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.domain.auditlog.checkpoint import NoteVerifier, verify_note
from hub.domain.auditlog.errors import MalformedNote, NoteError
from hub.domain.auditlog.merkle import EMPTY_ROOT, leaf_hash
from hub.domain.auditlog.service import EntryQuery, LoggedEntry, StoredCheckpoint
from hub.domain.auditlog.tree import Frontier, Node
from hub.domain.auditlog.verify import Fault, LogVerificationReport
from hub.persistence.auditlog import SqlNodeStore
from hub.persistence.db import Database
from hub.persistence.models import AuditCheckpoint, AuditEntryRow, AuditHead, AuditNode

__all__ = ["VERIFY_BATCH", "SqlAuditStore", "iter_records", "verify_store"]

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


class _Found(Exception):
    """Carries the report of the first fault out of the walk."""

    def __init__(self, report: LogVerificationReport) -> None:
        super().__init__(report.message)
        self.report = report


def _fault(
    fault: Fault,
    message: str,
    *,
    entries: int,
    index: int | None = None,
    checkpoint_size: int | None = None,
) -> _Found:
    return _Found(
        LogVerificationReport(
            ok=False,
            entries=entries,
            root=None,
            checkpoint_size=checkpoint_size,
            first_bad_index=index,
            fault=fault,
            message=message,
        )
    )


def verify_store(
    db: Database,
    *,
    verifier: NoteVerifier | None = None,
    origin: str | None = None,
    batch: int = VERIFY_BATCH,
) -> LogVerificationReport:
    """Check the stored log against itself and its signed checkpoints.

    Without ``verifier`` the checkpoints' signatures are not checked, only
    the roots they state; pass the log key to hold them to their signatures.
    """
    with db.session() as session:
        size = _head_size(session)
        rows = session.execute(
            select(AuditCheckpoint.size, AuditCheckpoint.root_hash, AuditCheckpoint.note).order_by(
                AuditCheckpoint.size
            )
        ).all()
    checkpoints = [(int(r.size), bytes(r.root_hash), str(r.note)) for r in rows]
    try:
        targets = _signed_roots(checkpoints, size, verifier, origin)
        root_hash = _walk(db, size, targets, batch)
        _check_beyond(db, size)
    except _Found as found:
        return found.report
    latest = max(targets, default=None)
    return LogVerificationReport(
        ok=True,
        entries=size,
        root=root_hash.hex(),
        checkpoint_size=latest,
        first_bad_index=None,
        fault=None,
        message=f"{size} entries, every tree node and {len(targets)} signed checkpoints agree",
    )


def _signed_roots(
    checkpoints: Sequence[tuple[int, bytes, str]],
    size: int,
    verifier: NoteVerifier | None,
    origin: str | None,
) -> dict[int, bytes]:
    """The tree head each checkpoint signs, by size, once its note is checked."""
    targets: dict[int, bytes] = {}
    for cp_size, root_hash, note in checkpoints:
        if verifier is not None:
            try:
                body = verify_note(note, verifier, origin=origin)
            except MalformedNote as exc:
                raise _fault(
                    Fault.MALFORMED, f"checkpoint of size {cp_size}: {exc.detail}", entries=size
                ) from exc
            except NoteError as exc:
                raise _fault(
                    Fault.BAD_SIGNATURE, f"checkpoint of size {cp_size}: {exc.detail}", entries=size
                ) from exc
            if (body.size, body.root_hash) != (cp_size, root_hash):
                raise _fault(
                    Fault.ALTERED,
                    f"the stored checkpoint of size {cp_size} disagrees with its signed note",
                    entries=size,
                    checkpoint_size=cp_size,
                )
        if cp_size > size:
            raise _fault(
                Fault.MISSING,
                f"a signed checkpoint covers {cp_size} entries but the log holds {size}: "
                "entries were removed from its end",
                entries=size,
                index=size,
                checkpoint_size=cp_size,
            )
        targets[cp_size] = root_hash
    if targets.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        raise _fault(
            Fault.ROOT_MISMATCH, "the checkpoint of size 0 is not the empty tree", entries=size
        )
    return targets


def _walk(db: Database, size: int, targets: dict[int, bytes], batch: int) -> bytes:
    """Rebuild the tree from the stored entries; return its head."""
    frontier = Frontier()
    vouched = 0  # Every entry below this is covered by a matching checkpoint.
    for start in range(0, size, batch):
        end = min(start + batch, size)
        with db.session() as session:
            entries = {
                int(r.idx): (str(r.entry), bytes(r.leaf_hash))
                for r in session.execute(
                    select(AuditEntryRow.idx, AuditEntryRow.entry, AuditEntryRow.leaf_hash).where(
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
            computed = _check_leaf(db, index, entries.get(index), leaves.get(index), size)
            emitted.extend(frontier.append(computed))
            wanted = targets.get(frontier.size)
            if wanted is not None:
                if frontier.root() != wanted:
                    _check_nodes(db, emitted, size)
                    raise _fault(
                        Fault.ROOT_MISMATCH,
                        f"entries {vouched} to {frontier.size - 1} and their tree were "
                        f"rewritten: the signed checkpoint of size {frontier.size} no "
                        "longer matches",
                        entries=size,
                        index=vouched,
                        checkpoint_size=frontier.size,
                    )
                vouched = frontier.size
        _check_nodes(db, emitted, size)
    return frontier.root()


def _check_leaf(
    db: Database,
    index: int,
    row: tuple[str, bytes] | None,
    stored: bytes | None,
    size: int,
) -> bytes:
    """The leaf hash of entry ``index`` once its row and tree leaf agree."""
    if row is None:
        raise _fault(
            Fault.MISSING, f"entry {index} is missing from the store", entries=size, index=index
        )
    computed = leaf_hash(row[0].encode("utf-8"))
    if stored is None:
        raise _fault(
            Fault.MISSING, f"the tree has no leaf for entry {index}", entries=size, index=index
        )
    if computed != stored:
        fault, message = _classify(db, index, computed, stored)
        raise _fault(fault, message, entries=size, index=index)
    if row[1] != computed:
        raise _fault(
            Fault.ALTERED,
            f"the leaf_hash column of entry {index} was changed",
            entries=size,
            index=index,
        )
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
            entries=size,
            index=leaf,
        )


def _check_beyond(db: Database, size: int) -> None:
    """Rows and leaves the head does not count were inserted behind its back."""
    with db.session() as session:
        row = session.scalar(
            select(func.min(AuditEntryRow.idx)).where(
                (AuditEntryRow.idx >= size) | (AuditEntryRow.idx < 0)
            )
        )
        leaf = session.scalar(
            select(func.min(AuditNode.idx)).where(
                AuditNode.level == 0, (AuditNode.idx >= size) | (AuditNode.idx < 0)
            )
        )
    if row is not None:
        raise _fault(
            Fault.INSERTED,
            f"entry {int(row)} lies outside the log, which holds {size} entries",
            entries=size,
            index=int(row),
        )
    if leaf is not None:
        raise _fault(
            Fault.INSERTED,
            f"the tree holds a leaf {int(leaf)} outside the log of {size} entries",
            entries=size,
            index=int(leaf),
        )
