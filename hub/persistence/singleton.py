"""Cluster-wide singletons: work that must run on one node at a time.

Several hub nodes share one PostgreSQL database; some background work (the
checkpoint timer, the witness submitter, later notification workers) must
run once across them, and move to another node when the one doing it dies.
A :class:`ClusterSingleton` is a PostgreSQL session-level advisory lock held
on a connection of its own: the node whose ``held()`` got the lock keeps it
as long as that connection lives; when the process dies, even by SIGKILL,
the server ends the session and frees the lock, and the next node to ask
takes over. There is no lease to renew and no clock to trust.

On SQLite there is one process by design (the database is a local file), so
``held()`` is always true and no lock is taken.

Usage: a background loop asks ``held()`` before each round and skips the
round when it answers false; ``release()`` on shutdown hands over at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from hub.persistence.db import Database

__all__ = ["ClusterSingleton", "lock_key"]

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key: a hash of the singleton's name, signed."""
    digest = hashlib.sha256(b"oncehub-singleton:" + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ClusterSingleton:
    """Whether this process is the one running ``name`` across the cluster."""

    def __init__(self, db: Database, name: str) -> None:
        self.name = name
        self._db = db
        self._key = lock_key(name)
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def held(self) -> bool:
        """True if this process holds the singleton, taking it if it is free."""
        if self._db.is_sqlite:
            return True
        with self._mutex:
            if self._conn is not None and self._alive(self._conn):
                return True
            self._drop()
            return self._try_acquire()

    def _alive(self, conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1"))
            conn.commit()
        except SQLAlchemyError:
            log.warning("singleton connection lost", extra={"singleton": self.name})
            return False
        return True

    def _try_acquire(self) -> bool:
        try:
            conn = self._db.engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar()
            )
            # The lock belongs to the session, not the transaction: end the
            # transaction so the connection does not sit idle inside one.
            conn.commit()
        except SQLAlchemyError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("singleton taken", extra={"singleton": self.name})
        return True

    def _drop(self) -> None:
        if self._conn is None:
            return
        try:
            # A dead connection must not go back to the pool.
            self._conn.invalidate()
            self._conn.close()
        except SQLAlchemyError:
            pass
        self._conn = None

    def release(self) -> None:
        """Give the singleton up (on shutdown), so another node takes it at once."""
        with self._mutex:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                self._conn.commit()
                self._conn.close()
            except SQLAlchemyError:
                self._drop()
            self._conn = None
