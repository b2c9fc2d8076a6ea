"""A fixed-window rate limiter whose counters live in the shared database.

Public endpoints (verification) are limited per client address. Counters
must be shared by every hub node, so they are rows of ``rate_limits`` —
``(key, window_start) → count`` — bumped with one atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on both SQLite (3.35+) and
PostgreSQL: two nodes counting at once never lose a hit. When a key opens a
new window, rows of finished windows are deleted, so the table stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from hub.errors import ConfigError
from hub.persistence.db import Database
from hub.persistence.ratelimit_models import RateLimitRow

__all__ = ["SqlRateLimiter"]


class SqlRateLimiter:
    """:class:`hub.domain.ports.RateLimiter`: ``limit`` hits per ``window`` seconds per key."""

    def __init__(
        self,
        db: Database,
        *,
        limit: int,
        window: int = 60,
        scope: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window < 1:
            raise ConfigError("a rate limit needs a positive limit and window")
        self.db = db
        self.limit = limit
        self.window = window
        self.scope = scope
        self._clock = clock

    def hit(self, key: str) -> int | None:
        """Count one request for ``key``; None if allowed, else seconds to wait."""
        now = self._clock()
        start = int(now // self.window) * self.window
        name = f"{self.scope}:{key}"[:128]
        insert: Any = sqlite.insert if self.db.is_sqlite else postgresql.insert
        statement = (
            insert(RateLimitRow)
            .values(key=name, window_start=start, count=1)
            .on_conflict_do_update(
                index_elements=["key", "window_start"],
                set_={"count": RateLimitRow.count + 1},
            )
            .returning(RateLimitRow.count)
        )
        with self.db.session() as session:
            count = int(session.execute(statement).scalar_one())
            if count == 1:
                session.execute(delete(RateLimitRow).where(RateLimitRow.window_start < start))
        if count <= self.limit:
            return None
        return max(1, int(start + self.window - now + 0.999))
