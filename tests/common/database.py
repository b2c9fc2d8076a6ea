"""Test databases: an SQLite file per test, or PostgreSQL schemas.

Set ``HUB_TEST_DATABASE_URL`` to a PostgreSQL URL to run the database tests
against a real server. Migrating a schema there takes seconds, so the session
migrates one schema once and each test gets it emptied (TRUNCATE); tests that
need an unmigrated database ask for ``empty_database_url`` and get a fresh
schema of their own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

POSTGRES_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")


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
