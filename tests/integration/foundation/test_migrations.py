"""Migrations and models agree, on SQLite and (in CI) on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

from hub.persistence import migrate
from hub.persistence.db import Database


def test_upgrade_reaches_head_and_matches_models(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        assert migrate.current_revision(db) is None
        assert migrate.upgrade(db) == migrate.head_revision()
        assert migrate.is_current(db)
        assert migrate.schema_drift(db) == []
        # Upgrading again is a no-op, not an error.
        assert migrate.upgrade(db) == migrate.head_revision()
    finally:
        db.dispose()


def test_the_history_has_one_head() -> None:
    # Two heads would make every new migration choose a parent and the readiness
    # check report "a+b"; a merge revision keeps the history linear at its tip.
    head = migrate.head_revision()
    assert head is not None
    assert "+" not in head


def test_a_database_at_both_old_heads_upgrades_to_the_merge(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        migrate.upgrade(db, "0003_certificates")
        migrate.upgrade(db, "0003_consents")
        assert migrate.current_revision(db) == "0003_certificates+0003_consents"
        assert not migrate.is_current(db)
        assert migrate.upgrade(db) == migrate.head_revision()
        assert migrate.schema_drift(db) == []
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/wal.db")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        db.dispose()


def test_cli_upgrades_and_checks(database_url: str) -> None:
    env = {**os.environ, "HUB_DATABASE_URL": database_url}
    up = subprocess.run(
        [sys.executable, "-m", "hub", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    assert migrate.head_revision() in up.stdout
    check = subprocess.run(
        [sys.executable, "-m", "hub", "db", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0
    assert "agree" in check.stdout


def test_cli_reports_configuration_errors_without_traceback() -> None:
    env = {**os.environ, "HUB_PORT": "not-a-port"}
    result = subprocess.run(
        [sys.executable, "-m", "hub", "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "HUB_PORT" in result.stderr
    assert "Traceback" not in result.stderr
