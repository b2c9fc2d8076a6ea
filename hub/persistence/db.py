"""The database engine: SQLite by default, PostgreSQL in production.

SQLite gets WAL journalling (readers never block the writer), full
synchronous commits (an acknowledged write survives a power cut), foreign keys
and a busy timeout so concurrent writers wait instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ConfigError, StorageError

__all__ = ["Database", "is_sqlite"]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin,
    # so that _sqlite_begin below can take the write lock up front.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Take SQLite's write lock at BEGIN.

    A deferred transaction that reads and then writes cannot wait for a lock
    held by another writer (SQLite reports a deadlock at once instead); an
    immediate one simply waits its turn under the busy timeout. WAL readers
    outside transactions are unaffected.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        try:
            url = _normalise_url(url)
            self.url = url
            if is_sqlite(url):
                database = make_url(url).database
                if database and database != ":memory:":
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                self.engine: Engine = create_engine(
                    url, connect_args={"check_same_thread": False, "timeout": 10}
                )
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "begin", _sqlite_begin)
            else:
                self.engine = create_engine(
                    url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
                )
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise ConfigError(f"cannot use database URL: {exc.__class__.__name__}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error.

        SQLAlchemy errors leave as :class:`StorageError`.
        """
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StorageError("the database did not accept the operation") from exc
        finally:
            session.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
