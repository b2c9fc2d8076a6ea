"""Fixtures shared by every test: settings, a database, a running hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub import _patches
from hub.config import Settings
from tests.common.database import (
    POSTGRES_URL,
    create_worker_database,
    drop_worker_database,
    empty_tables,
    fresh_database,
    postgres_schema,
)


def pytest_configure(config: pytest.Config) -> None:
    # As at the hub's start-up: the tests exercise the patched libraries the
    # container runs (hub._patches), not only through create_app.
    _patches.apply()
    if POSTGRES_URL:
        create_worker_database()


def pytest_unconfigure(config: pytest.Config) -> None:
    if POSTGRES_URL:
        drop_worker_database()


TESTS = Path(__file__).resolve().parent

#: Suites that must not share the cores with other tests, so ``tasks.py test``
#: runs them after the parallel pass, one at a time: they bound the latency,
#: memory or deadlines of a loaded hub, kill and restart hub processes, or
#: drive a browser against timeouts (a journey once timed out under load).
SERIAL = (
    "e2e",
    "faults",
    "security/test_abuse.py",
    "security/test_hostile_registry.py",
    "security/test_server_limits.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [name for name in SERIAL if not (TESTS / name).exists()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py SERIAL names what is not there: {missing}")
    serial = tuple(TESTS / name for name in SERIAL)
    for item in items:
        # Every test that touches a database is marked, so CI can run exactly
        # those again against PostgreSQL.
        names = getattr(item, "fixturenames", ())
        if "database_url" in names or "empty_database_url" in names:
            item.add_marker(pytest.mark.db)
        if any(item.path.is_relative_to(suite) for suite in serial):
            item.add_marker(pytest.mark.serial)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database tests on: {'PostgreSQL' if POSTGRES_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def _migrated_postgres() -> Iterator[str]:
    """One migrated PostgreSQL schema for the session (only when configured)."""
    from hub.persistence import migrate  # noqa: PLC0415
    from hub.persistence.db import Database  # noqa: PLC0415

    with postgres_schema() as url:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database for one test: a new SQLite file, or the emptied PostgreSQL schema.

    On SQLite it is unmigrated (tests and the hub migrate it, as in production);
    on PostgreSQL it is already at head, so migrating again is a no-op.
    """
    if not POSTGRES_URL:
        with fresh_database(tmp_path) as url:
            yield url
        return
    url = request.getfixturevalue("_migrated_postgres")
    empty_tables(url)
    yield url


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An unmigrated database of the test's own, on SQLite or PostgreSQL."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development key store for the session (tests that change keys make their own)."""
    from hub.cli.keys import ensure_keys  # noqa: PLC0415

    directory = tmp_path_factory.mktemp("keys")
    ensure_keys(Settings.for_tests(directory.parent, keys_dir=directory))
    return directory


#: The sandbox population the tests share: small, so start-up stays fast.
SANDBOX_SIZE = 2000
SANDBOX_SEED = 2026


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """The three sandbox registries on ephemeral loopback ports, for the session."""
    from adapters.sandbox.runner import start_sandbox  # noqa: PLC0415

    handle = start_sandbox(base_port=0, size=SANDBOX_SIZE, seed=SANDBOX_SEED)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def citizens() -> list[dict[str, Any]]:
    """Sample citizens of the sandbox population, with their tags."""
    from adapters.sandbox.runner import sample_citizens  # noqa: PLC0415

    return sample_citizens(SANDBOX_SIZE, SANDBOX_SEED, 200)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, keys_dir: Path, sandbox: Any) -> Settings:
    return Settings.for_tests(
        tmp_path,
        database_url=database_url,
        keys_dir=keys_dir,
        registry_urls=dict(sandbox.urls),
        sandbox_population=SANDBOX_SIZE,
        sandbox_seed=SANDBOX_SEED,
    )


@pytest.fixture
def hub_url(settings: Settings) -> Iterator[str]:
    """A migrated hub served over real HTTP on loopback."""
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(settings) as (url, _, _):
        yield url
