"""Schema migrations: upgrade, report the revision, and compare with the models.

Alembic is driven in code (no ``alembic.ini`` to find), on the hub's own
engine, so ``hub db upgrade`` works from any directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StorageError
from hub.persistence.db import Database
from hub.persistence.schema import metadata

__all__ = ["current_revision", "head_revision", "is_current", "schema_drift", "upgrade"]

_SCRIPTS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def _heads() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(_config()).get_heads()))


def head_revision() -> str | None:
    """The head revision (several, joined by '+', while branches are unmerged)."""
    heads = _heads()
    return "+".join(heads) if heads else None


def _current(db: Database) -> tuple[str, ...]:
    try:
        with db.engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    except SQLAlchemyError as exc:
        raise StorageError("cannot read the schema revision") from exc


def current_revision(db: Database) -> str | None:
    current = _current(db)
    return "+".join(current) if current else None


def is_current(db: Database) -> bool:
    return _current(db) == _heads()


def upgrade(db: Database, revision: str = "heads") -> str | None:
    """Bring the schema up to ``revision``; returns the revision reached."""
    config = _config()
    try:
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StorageError("the schema migration failed") from exc
    return current_revision(db)


def schema_drift(db: Database) -> list[Any]:
    """Differences between the migrated schema and the models (empty = agree)."""
    with db.engine.connect() as conn:
        diffs: list[Any] = compare_metadata(MigrationContext.configure(conn), metadata)
    return diffs
