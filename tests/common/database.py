"""Test databases: an SQLite file per test, or PostgreSQL schemas.

Set ``HUB_TEST_DATABASE_URL`` to a PostgreSQL URL to run the database tests
against a real server. Migrating a schema there takes seconds, so the session
migrates one schema once and each test gets it emptied (TRUNCATE); tests that
need an unmigrated database ask for ``empty_database_url`` and get a fresh
schema of their own, dropped afterwards.

Under pytest-xdist each worker runs on a database of its own, named after the
configured one (``<name>_gw0``, ...), created when the worker starts and
dropped when it ends: advisory locks, LISTEN/NOTIFY channels and
``pg_stat_activity`` are per database, so workers sharing one would see each
other's hubs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import sqlalchemy as sa

#: The database named by the environment; under xdist, the server's maintenance door.
CONFIGURED_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
#: The xdist worker this process is (``gw0``, ...), or empty when run alone.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _database_of(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _worker_url(url: str, worker: str) -> str:
    if not url or not worker:
        return url
    name = urlsplit(url).path.lstrip("/") or "postgres"
    return _database_of(url, f"{name}_{worker}")


#: The PostgreSQL database this process's tests use, or empty for SQLite.
POSTGRES_URL = _worker_url(CONFIGURED_URL, WORKER)


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def _engine_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new, empty schema on the test server; dropped on exit."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_engine_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _worker_database(create: bool) -> None:
    name = urlsplit(POSTGRES_URL).path.lstrip("/")
    admin = sa.create_engine(_engine_url(CONFIGURED_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def create_worker_database() -> None:
    """This xdist worker's own database, new and empty (a leftover one is replaced)."""
    if POSTGRES_URL != CONFIGURED_URL:
        _worker_database(create=True)


def drop_worker_database() -> None:
    if POSTGRES_URL != CONFIGURED_URL:
        _worker_database(create=False)


def empty_tables(url: str) -> None:
    """Empty every table of a migrated schema and restore the seeded rows."""
    from hub.persistence.models import AuditHead  # noqa: PLC0415
    from hub.persistence.schema import metadata  # noqa: PLC0415

    engine = sa.create_engine(_engine_url(url))
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.execute(sa.insert(AuditHead).values(id=1, size=0))
    finally:
        engine.dispose()


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An unmigrated database of its own."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    with postgres_schema() as url:
        yield url


#: Every row of every table of a migrated database, table by table in dependency order.
Rows = list[tuple[str, list[dict[str, object]]]]


def snapshot_rows(url: str) -> Rows:
    """Every row of the hub's tables, to lay the same state into other databases.

    Fixtures that build an expensive state (sealed certificates, a long log)
    build it once and give each test a database of its own with these rows
    (:func:`restore_rows`), so a test that tampers with its rows never sees
    another's.
    """
    from hub.persistence.schema import metadata  # noqa: PLC0415

    engine = sa.create_engine(_engine_url(url))
    try:
        with engine.connect() as conn:
            return [
                (table.name, [dict(row) for row in conn.execute(sa.select(table)).mappings()])
                for table in metadata.sorted_tables
            ]
    finally:
        engine.dispose()


def restore_rows(url: str, rows: Rows) -> None:
    """Replace every row of a migrated database's tables with ``rows``."""
    from hub.persistence.schema import metadata  # noqa: PLC0415

    tables = {table.name: table for table in metadata.sorted_tables}
    engine = sa.create_engine(_engine_url(url))
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(sa.delete(table))
            for name, table_rows in rows:
                if table_rows:
                    conn.execute(sa.insert(tables[name]), table_rows)
            if conn.dialect.name == "postgresql":
                # Serial keys go on after the copied rows, as they would have.
                serials = conn.execute(
                    sa.text(
                        "SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() "
                        "AND (column_default LIKE 'nextval%' OR is_identity = 'YES')"
                    )
                ).all()
                for table_name, column in serials:
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence(:t, :c), "  # noqa: S608
                            f'COALESCE((SELECT MAX("{column}") FROM "{table_name}"), 0) + 1, false)'
                        ),
                        {"t": table_name, "c": column},
                    )
    finally:
        engine.dispose()
