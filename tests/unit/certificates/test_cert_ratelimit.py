"""The shared fixed-window rate limiter, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.domain.ports import RateLimiter
from hub.errors import ConfigError
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.ratelimit import SqlRateLimiter


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def test_limits_per_key_and_window_and_says_when_to_retry(db: Database) -> None:
    now = [1_000_000.0]
    limiter = SqlRateLimiter(db, limit=3, window=60, scope="t", clock=lambda: now[0])
    assert isinstance(limiter, RateLimiter)
    assert [limiter.hit("1.2.3.4") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("1.2.3.4")
    assert wait is not None
    assert 1 <= wait <= 60
    assert limiter.hit("5.6.7.8") is None  # another client has its own window
    now[0] += 60
    assert limiter.hit("1.2.3.4") is None  # a new window


def test_concurrent_hits_are_all_counted(db: Database) -> None:
    limiter = SqlRateLimiter(db, limit=20, window=3600, scope="c")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _i: limiter.hit("9.9.9.9"), range(30)))
    assert results.count(None) == 20


def test_refuses_a_nonsense_configuration(db: Database) -> None:
    with pytest.raises(ConfigError):
        SqlRateLimiter(db, limit=0)
