"""Two hub processes appending to one PostgreSQL log never fork it.

Each process appends its entries one request at a time, as the hub does;
both start together on a signal. Afterwards the indices are exactly
``0..599`` with no gap or repeat, the two processes' entries interleave
(so the test did exercise the lock), and the whole store verifies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hub.audit.service import DEFAULT_ORIGIN, AuditService
from hub.domain.auditlog.checkpoint import NoteSigner
from hub.persistence import migrate
from hub.persistence.audit_queries import SqlAuditStore, verify_store
from hub.persistence.db import Database
from tests.common.database import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="set HUB_TEST_DATABASE_URL to a PostgreSQL URL"),
]

PER_PROCESS = 300

APPENDER = """
import datetime as dt, json, pathlib, sys, time
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database

url, worker, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), pathlib.Path(sys.argv[4])
log = SqlAccessLog(Database(url, pool_size=2))
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
indices = []
for i in range(count):
    entry = AccessEntry(
        time=dt.datetime.now(dt.UTC),
        actor=Actor("agency", f"worker-{worker}"),
        action="evidence.request",
        outcome="granted",
        request_id=f"{worker}-{i}",
    )
    indices.append(log.record(entry))
print(json.dumps(indices))
"""


def test_two_processes_append_without_forking_the_log(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, database_url, str(k), str(PER_PROCESS), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    every = sorted(results[0] + results[1])
    assert every == list(range(2 * PER_PROCESS))
    # Interleaved, not one batch after the other.
    first = sorted(results[0])
    assert first[-1] - first[0] + 1 > PER_PROCESS
    store = SqlAuditStore(db)
    signer = NoteSigner.generate(DEFAULT_ORIGIN)
    audit = AuditService(tree=store, checkpoints=store, entries=store, signer=signer)
    checkpoint, _ = audit.make_checkpoint()
    assert checkpoint.size == 2 * PER_PROCESS
    report = verify_store(db, verifier=signer.verifier(), origin=DEFAULT_ORIGIN, batch=128)
    assert report.ok, report.message
    assert report.entries == 2 * PER_PROCESS
    db.dispose()
