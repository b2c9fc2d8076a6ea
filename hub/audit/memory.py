"""An access log held in memory: every audit port, for tests and tools.

:class:`InMemoryAuditLog` implements the :class:`~hub.audit.ports.AccessLog`
port and the three read ports of :mod:`.ports` the way the SQL store does
(same ordering, same filters, one checkpoint per size), so domain tests run
without a database and a port test can hold both implementations to one
standard. It is a test double shipped with the package, in the manner of a
mock transport: no network, no disk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hub.audit.models import EntryQuery, LoggedEntry, StoredCheckpoint
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.auditlog.merkle import leaf_hash
from hub.domain.auditlog.tree import Frontier, InMemoryNodeStore

__all__ = ["InMemoryAuditLog", "matches"]


def matches(entry: AccessEntry, query: EntryQuery) -> bool:
    """Whether an entry passes the filters of ``query``."""
    return (
        (query.citizen is None or entry.subject == query.citizen)
        and (
            query.agency is None
            or (entry.actor.kind == "agency" and entry.actor.id == query.agency)
        )
        and (query.purpose is None or entry.purpose == query.purpose)
        and (query.action is None or entry.action == query.action)
        and (query.outcome is None or entry.outcome == query.outcome)
        and (query.since is None or entry.time >= query.since)
        and (query.until is None or entry.time < query.until)
    )


class InMemoryAuditLog:
    """Entries, tree nodes and checkpoints in lists and dicts."""

    def __init__(self) -> None:
        self.nodes = InMemoryNodeStore()
        self.entries: list[AccessEntry] = []
        self.payloads: list[bytes] = []
        self.stored_checkpoints: dict[int, StoredCheckpoint] = {}
        self._frontier = Frontier()
        self._lock = threading.Lock()

    # AccessLog

    def record(self, entry: AccessEntry) -> int:
        data = entry.canonical_bytes()
        with self._lock:
            index = self._frontier.size
            self.nodes.put_nodes(self._frontier.append(leaf_hash(data)))
            self.entries.append(entry)
            self.payloads.append(data)
        return index

    # TreeReader

    @contextmanager
    def reading(self) -> Iterator[InMemoryNodeStore]:
        yield self.nodes

    # CheckpointStore

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        if not self.stored_checkpoints:
            return None
        return self.stored_checkpoints[max(self.stored_checkpoints)]

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return self.stored_checkpoints.get(size)

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> tuple[StoredCheckpoint, bool]:
        with self._lock:
            existing = self.stored_checkpoints.get(checkpoint.size)
            if existing is not None:
                return existing, False
            self.stored_checkpoints[checkpoint.size] = checkpoint
            return checkpoint, True

    def checkpoints(self, *, below: int | None, limit: int) -> list[StoredCheckpoint]:
        sizes = sorted(
            (s for s in self.stored_checkpoints if below is None or s < below), reverse=True
        )
        return [self.stored_checkpoints[s] for s in sizes[:limit]]

    # EntryStore

    def _logged(self, index: int) -> LoggedEntry:
        data = self.payloads[index]
        return LoggedEntry(index, json.loads(data), leaf_hash(data))

    def entry_at(self, index: int) -> LoggedEntry | None:
        if not 0 <= index < len(self.entries):
            return None
        return self._logged(index)

    def find_entries(
        self, query: EntryQuery, *, below: int | None, limit: int
    ) -> list[LoggedEntry]:
        start = len(self.entries) if below is None else min(below, len(self.entries))
        found: list[LoggedEntry] = []
        for index in range(start - 1, -1, -1):
            if len(found) >= limit:
                break
            if matches(self.entries[index], query):
                found.append(self._logged(index))
        return found
