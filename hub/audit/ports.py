"""What the access log and the audit service need from the outside.

:class:`AccessLog` is where every feature records its decisions
(``hub/persistence/auditlog.py`` on the database; ``hub.audit.memory`` in
memory). The audit service reads the tree, the checkpoints and the entries
through :class:`TreeReader`, :class:`CheckpointStore` and :class:`EntryStore`
(``hub/persistence/audit_queries.py``) and signs with a :class:`LogSigner`
(``hub.audit.keys`` over the key store).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from hub.audit.models import EntryQuery, LoggedEntry, StoredCheckpoint
from hub.domain.auditlog.checkpoint import NoteSignature, NoteVerifier
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.auditlog.tree import NodeStore

__all__ = ["AccessLog", "CheckpointStore", "EntryStore", "LogSigner", "OverlapSigner", "TreeReader"]


@runtime_checkable
class LogSigner(Protocol):
    """The log's note key: signs checkpoint text with Ed25519."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message``."""
        ...

    def verifier(self) -> NoteVerifier:
        """The public half, as published at ``/v1/audit/log-key``."""
        ...


@runtime_checkable
class OverlapSigner(Protocol):
    """A log signer in a key rotation's overlap: the retired key signs as well."""

    def overlap_signatures(self, message: bytes) -> Sequence[NoteSignature]: ...


@runtime_checkable
class TreeReader(Protocol):
    """Opens a read of the stored tree; the store's ``size()`` is the log's."""

    def reading(self) -> AbstractContextManager[NodeStore]: ...


@runtime_checkable
class CheckpointStore(Protocol):
    """Signed checkpoints, at most one per tree size."""

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None: ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> tuple[StoredCheckpoint, bool]:
        """Keep a checkpoint; if one of that size exists, keep and return it.

        The flag says whether ``checkpoint`` was the one stored.
        """
        ...

    def checkpoints(self, *, below: int | None, limit: int) -> list[StoredCheckpoint]:
        """Checkpoints of size below ``below`` (any when None), largest first."""
        ...


@runtime_checkable
class EntryStore(Protocol):
    """Logged entries, found by index or by filters."""

    def entry_at(self, index: int) -> LoggedEntry | None: ...

    def find_entries(
        self, query: EntryQuery, *, below: int | None, limit: int
    ) -> list[LoggedEntry]:
        """Matching entries with index below ``below`` (any when None), newest first."""
        ...


@runtime_checkable
class AccessLog(Protocol):
    """Where every access decision is recorded, granted or denied."""

    def record(self, entry: AccessEntry) -> int:
        """Append the entry durably; return its index in the log."""
        ...
