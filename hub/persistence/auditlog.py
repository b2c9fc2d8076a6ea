"""The access log in the shared database: entries, tree nodes and the head.

Appends from any number of threads and hub processes are serialised on the
head row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers
itself, every transaction taking the write lock at BEGIN), so indexes never
fork, repeat or skip. An entry, the tree nodes it completes and the new head
commit together, and together with whatever effect the entry records when
the caller passes its own session.

Listeners (the audit service's checkpoint policy) hear the new size after an
entry of :meth:`SqlAccessLog.record` commits; they must not fail the request,
whose entry is already durable, so a listener's hub error is logged and
dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hub.domain.auditlog.entry import AccessEntry, canonical_json
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import Node, NodeKey, append
from hub.errors import HubError, StorageError
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow, AuditHead, AuditNode

__all__ = ["SqlAccessLog", "SqlNodeStore"]

#: How many node keys go in one ``IN`` clause.
_BATCH = 500

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
            chunk = wanted[start : start + _BATCH]
            rows = self.session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                    tuple_(AuditNode.level, AuditNode.idx).in_(chunk)
                )
            )
            for level, idx, digest in rows:
                found[(int(level), int(idx))] = bytes(digest)
        return found

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        rows = [{"level": level, "idx": idx, "hash": digest} for level, idx, digest in nodes]
        if rows:
            self.session.execute(insert(AuditNode), rows)


def _row(index: int, entry: AccessEntry, data: bytes, digest: bytes) -> dict[str, object]:
    return {
        "idx": index,
        "time": entry.time,
        "action": entry.action,
        "outcome": entry.outcome,
        "actor_kind": entry.actor.kind,
        "actor_id": entry.actor.id,
        "subject": entry.subject,
        "purpose": entry.purpose,
        "evidence_type": entry.evidence_type,
        "entry": data.decode("utf-8"),
        "leaf_hash": digest,
    }


class SqlAccessLog:
    """:class:`hub.domain.ports.AccessLog` on the hub's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[Callable[[int], None]] = []

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(new_size)`` after each :meth:`record` commits."""
        self._listeners.append(listener)

    def _lock_head(self, session: Session) -> int:
        query = select(AuditHead.size).where(AuditHead.id == 1)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        size = session.scalar(query)
        if size is None:
            raise StorageError("the access log has no head row; run 'hub db upgrade'")
        return int(size)

    def append_in(self, session: Session, entries: list[AccessEntry]) -> int:
        """Append entries inside ``session``'s transaction; the first index."""
        size = self._lock_head(session)
        payloads = [canonical_json(entry.to_json_obj()) for entry in entries]
        digests = [leaf_hash(data) for data in payloads]
        store = SqlNodeStore(session)
        store.put_nodes(append(store, digests, size=size))
        session.execute(
            insert(AuditEntryRow),
            [
                _row(size + i, entry, data, digest)
                for i, (entry, data, digest) in enumerate(
                    zip(entries, payloads, digests, strict=True)
                )
            ],
        )
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(size=size + len(entries)))
        return size

    def record(self, entry: AccessEntry) -> int:
        with self.db.session() as session:
            index = self.append_in(session, [entry])
        for listener in self._listeners:
            try:
                listener(index + 1)
            except HubError as exc:
                log.warning("access log listener failed", extra={"error": exc.slug})
        return index

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
