"""Two hub nodes on one PostgreSQL: one signs checkpoints by the clock; kill it, the other does.

The checkpoint timer runs under :class:`hub.persistence.singleton.ClusterSingleton`,
a PostgreSQL advisory lock held by one node's session. Two ``hub serve``
processes share one database; entries are appended from outside (so no
request path signs anything) and the timer's rule (T seconds) makes the
checkpoints. Each node logs ``audit checkpoint signed`` when it signs: only
one of them may. Then that node is SIGKILLed, its session dies, the lock is
free, and the survivor must take over within a few timer rounds.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.config import Settings
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.persistence import migrate
from hub.persistence.audit_queries import SqlAuditStore
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from hub.persistence.singleton import lock_key
from tests.common.database import POSTGRES_URL
from tests.common.hubs import HubProcess

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="set HUB_TEST_DATABASE_URL to a PostgreSQL URL"),
]

SIGNED = "audit checkpoint signed"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@dataclass
class TimedHub(HubProcess):
    """A hub whose timer signs every half second and whose log says so."""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update(
            {
                "HUB_CHECKPOINT_SECONDS": "0.5",
                "HUB_CHECKPOINT_EVERY": "1000000",
                "HUB_LOG_LEVEL": "INFO",
            }
        )
        return env

    def signed(self) -> int:
        return self.log_path.read_text(encoding="utf-8", errors="replace").count(SIGNED)


def _append(db: Database, start: int, end: int) -> None:
    log = SqlAccessLog(db)
    for i in range(start, end):
        log.record(
            AccessEntry(
                time=T0 + dt.timedelta(seconds=i),
                actor=Actor("agency", "efka"),
                action="evidence.request",
                outcome="granted",
                subject="afm:100000000",
                purpose="housing",
                request_id=f"singleton-{i}",
            )
        )


def _lock_holders(db: Database) -> list[int]:
    """The server pids of the sessions holding the checkpoint singleton's lock."""
    key = lock_key("audit-checkpoints") & 0xFFFFFFFFFFFFFFFF
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid = :hi AND objid = :lo AND objsubid = 1"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
        ).all()
    return [int(row[0]) for row in rows]


def _wait_for_checkpoint(store: SqlAuditStore, size: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = store.latest_checkpoint()
        if latest is not None and latest.size >= size:
            return
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of size {size} within {timeout} s")


def test_one_node_signs_by_the_clock_and_the_other_takes_over(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    store = SqlAuditStore(db)
    nodes = [
        TimedHub(settings, tmp_path / "node-a.log"),
        TimedHub(settings, tmp_path / "node-b.log"),
    ]
    try:
        for node in nodes:
            node.start()
        for round_ in range(4):
            _append(db, round_ * 5, round_ * 5 + 5)
            _wait_for_checkpoint(store, round_ * 5 + 5)
        # Let the other node's timer run several rounds: it must not sign.
        time.sleep(2)
        counts = [node.signed() for node in nodes]
        assert sorted(counts)[0] == 0, f"both nodes signed checkpoints: {counts}"
        assert sum(counts) >= 4, counts
        leader = nodes[0] if counts[0] else nodes[1]
        survivor = nodes[1] if leader is nodes[0] else nodes[0]
        # Exactly one session holds the lock: the mechanism, not only its effect.
        holders = _lock_holders(db)
        assert len(holders) == 1, holders

        leader.kill()
        _append(db, 20, 27)
        _wait_for_checkpoint(store, 27)
        assert survivor.signed() >= 1, "the surviving node did not take over"
        after = _lock_holders(db)
        assert len(after) == 1
        assert after != holders, "the lock did not move to the survivor's session"
    finally:
        for node in nodes:
            node.stop()
        db.dispose()
