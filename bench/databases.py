"""The databases a run measures: a fresh SQLite file, and optionally a PostgreSQL schema.

PostgreSQL figures go to a schema of their own, created for the run and
dropped afterwards, so a run never touches the tables of anything else on
that server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import sqlalchemy as sa

from hub.persistence import migrate
from hub.persistence.db import Database

__all__ = ["BenchDatabase", "migrated", "postgres_schema", "sqlite_database"]


@dataclass(frozen=True, slots=True)
class BenchDatabase:
    """A database the run may fill: its label in the table and its URL."""

    label: str
    url: str


def sqlite_database(work: Path, name: str = "hub") -> BenchDatabase:
    return BenchDatabase("SQLite", f"sqlite:///{work / f'{name}.db'}")


def _engine_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


@contextlib.contextmanager
def postgres_schema(server_url: str) -> Iterator[BenchDatabase]:
    """A new schema ``bench_<random>`` on ``server_url``, dropped on exit."""
    host = urlsplit(server_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the benchmark uses a PostgreSQL server on loopback only, not {host}")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_engine_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in server_url else "?"
        url = f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
        yield BenchDatabase("PostgreSQL", url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def migrated(database: BenchDatabase) -> None:
    """Bring the database to the hub's current schema."""
    db = Database(database.url)
    try:
        migrate.upgrade(db)
    finally:
        db.dispose()
