"""Fixtures shared by every test: settings, a database, a running hub."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings
from tests.common.database import POSTGRES_URL, fresh_database


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test that touches a database is marked, so CI can run exactly
    # those again against PostgreSQL.
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database tests on: {'PostgreSQL' if POSTGRES_URL else 'SQLite'}"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.for_tests(tmp_path, database_url=database_url)


@pytest.fixture
def hub_url(settings: Settings) -> Iterator[str]:
    """A migrated hub served over real HTTP on loopback."""
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415
    from tests.common.server import free_port, serve  # noqa: PLC0415

    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    app: Any = create_app(services=services)
    with serve(app, port=port) as url:
        yield url
    services.close()
