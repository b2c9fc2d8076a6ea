"""``hub db``: bring the schema up to date, or say where it stands."""

from __future__ import annotations

import argparse
from typing import Any

from hub.config import Settings
from hub.persistence import migrate
from hub.persistence.db import Database

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="apply every pending migration")
    up.set_defaults(run=_upgrade)
    current = actions.add_parser("current", help="print the schema revision and the head")
    current.set_defaults(run=_current)
    check = actions.add_parser("check", help="exit non-zero unless models and schema agree")
    check.set_defaults(run=_check)


def _upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        print(f"schema at {migrate.upgrade(db)}")
    finally:
        db.dispose()
    return 0


def _current(_args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        print(f"current: {migrate.current_revision(db) or 'none'}")
        print(f"head:    {migrate.head_revision()}")
        return 0 if migrate.is_current(db) else 1
    finally:
        db.dispose()


def _check(_args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        drift = migrate.schema_drift(db)
    finally:
        db.dispose()
    for diff in drift:
        print(f"drift: {diff}")
    print("models and schema agree" if not drift else f"{len(drift)} differences")
    return 0 if not drift else 1
