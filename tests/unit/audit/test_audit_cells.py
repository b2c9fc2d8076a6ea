"""Every stored cell of every table of the access log is checked by verify.

The tests are parametrised over each table's real column list, read from the
models, so a column added later is altered here too and must be detected.
Each starts from an honest log of 40 entries (checkpoints at 16 and 40),
changes one cell the way an insider with database access could, and asserts
that ``verify_store`` (what ``hub audit verify`` runs) fails and says where.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import pytest
import sqlalchemy as sa

from hub.audit.service import DEFAULT_ORIGIN, AuditService, checkpoint_time
from hub.domain.auditlog.checkpoint import NoteSigner, verify_note
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.auditlog.verify import Fault, LogVerificationReport
from hub.persistence import audit_queries, migrate
from hub.persistence.audit_queries import SqlAuditStore, verify_store
from hub.persistence.auditlog import CORE_COLUMNS, SEARCH_COLUMNS, SqlAccessLog
from hub.persistence.consents import SqlConsentStore
from hub.persistence.db import Database
from hub.persistence.models import AuditCheckpoint, AuditEntryRow, AuditHead, AuditNode

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNER = NoteSigner.generate(DEFAULT_ORIGIN)
N = 40
#: The entry whose cells are altered; the node over entries 16 to 19.
ROW = 17
NODES = [(0, ROW), (2, ROW >> 2)]


def table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


def entry(i: int) -> AccessEntry:
    # Every field set, so that each search column holds a value to alter.
    return AccessEntry(
        time=T0 + dt.timedelta(minutes=i, microseconds=i),
        actor=Actor("agency", f"agency-{i % 3}", official=f"official-{i}"),
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{100000000 + i % 4}",
        evidence_type="family-status",
        purpose="benefit",
        legal_basis="law-4623/2019",
        request_id=f"req-{i}",
    )


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    store = SqlAuditStore(database)
    service = AuditService(tree=store, checkpoints=store, entries=store, signer=SIGNER)
    log = SqlAccessLog(database)
    with database.session() as session:
        log.append_in(session, [entry(i) for i in range(16)])
    service.make_checkpoint()
    for i in range(16, N):
        log.record(entry(i))
    service.make_checkpoint()
    yield database
    database.dispose()


def check(db: Database) -> LogVerificationReport:
    return verify_store(db, verifier=SIGNER.verifier(), origin=DEFAULT_ORIGIN, batch=7)


def other(value: object, column: sa.Column[Any]) -> object:
    """A value of the column's type that differs from ``value``."""
    python = column.type.python_type
    if python is dt.datetime:
        base = cast(dt.datetime, value) if value is not None else T0
        return base + dt.timedelta(seconds=1)
    if python is int:
        return 10**9 + (cast(int, value) if value is not None else 0)
    if python is bytes:
        return b"\x07" * 32
    if python is bool:
        return not value
    text = "" if value is None else str(value)
    return text + "x" if text else "x"


def alter(db: Database, model: type[Any], key: dict[str, object], column: str) -> None:
    t = table(model)
    where = sa.and_(*(t.c[name] == v for name, v in key.items()))
    with db.session() as session:
        current = session.execute(sa.select(t.c[column]).where(where)).scalar_one()
        session.execute(sa.update(t).where(where).values({column: other(current, t.c[column])}))


def test_the_honest_log_verifies(db: Database) -> None:
    report = check(db)
    assert report.ok, report.message
    assert report.findings == ()


def test_every_column_of_the_entries_table_is_mapped_once() -> None:
    columns = set(table(AuditEntryRow).columns.keys())
    assert set(SEARCH_COLUMNS) | CORE_COLUMNS == columns
    assert not set(SEARCH_COLUMNS) & CORE_COLUMNS


@pytest.mark.parametrize("column", table(AuditEntryRow).columns.keys())
def test_each_entry_cell_is_checked(db: Database, column: str) -> None:
    alter(db, AuditEntryRow, {"idx": ROW}, column)
    report = check(db)
    assert not report.ok
    assert report.first_bad_index == ROW, report.message
    if column in SEARCH_COLUMNS or column == "leaf_hash":
        assert report.fault is Fault.ALTERED
        assert f"column {column} differs from its entry" in report.message
        assert report.findings[0].describe().startswith(f"index {ROW}: ")


def test_the_subject_attack_of_issue_12_is_located(db: Database) -> None:
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_entries SET subject='afm:000000000' WHERE idx=0"))
    # The access is gone from the citizen's own view of the log ...
    about = SqlConsentStore(db).entries_about(
        ["afm:100000000"], hidden_purposes=(), below=None, limit=100
    )
    assert 0 not in [found.index for found in about]
    # ... and verify names the entry and the column.
    report = check(db)
    assert not report.ok
    assert [f.describe() for f in report.findings] == [
        "index 0: column subject differs from its entry"
    ]


def test_every_altered_cell_is_listed(db: Database) -> None:
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_entries SET purpose = 'x' WHERE idx IN (3, 30)"))
        session.execute(sa.text("UPDATE audit_entries SET actor_id = 'y' WHERE idx = 30"))
    report = check(db)
    assert [f.describe() for f in report.findings] == [
        "index 3: column purpose differs from its entry",
        "index 30: column actor_id differs from its entry",
        "index 30: column purpose differs from its entry",
    ]
    assert report.message.endswith("(and 2 more findings)")


@pytest.mark.parametrize("node", NODES, ids=str)
@pytest.mark.parametrize("column", table(AuditNode).columns.keys())
def test_each_node_cell_is_checked(db: Database, column: str, node: tuple[int, int]) -> None:
    level, index = node
    alter(db, AuditNode, {"level": level, "idx": index}, column)
    report = check(db)
    assert not report.ok
    assert report.first_bad_index == index << level, report.message


@pytest.mark.parametrize("column", table(AuditCheckpoint).columns.keys())
def test_each_checkpoint_cell_is_checked(db: Database, column: str) -> None:
    alter(db, AuditCheckpoint, {"size": 16}, column)
    report = check(db)
    assert not report.ok
    assert "checkpoint of size" in report.message
    assert report.fault in (Fault.ALTERED, Fault.BAD_SIGNATURE, Fault.MALFORMED)


@pytest.mark.parametrize("column", ["size", "root_hash", "created_at"])
def test_checkpoint_rows_are_held_to_their_notes_without_the_key(db: Database, column: str) -> None:
    alter(db, AuditCheckpoint, {"size": 16}, column)
    report = verify_store(db)
    assert not report.ok
    assert f"column {column} differs from its signed note" in report.message


@pytest.mark.parametrize("column", table(AuditHead).columns.keys())
def test_each_head_cell_is_checked(db: Database, column: str) -> None:
    alter(db, AuditHead, {"id": 1}, column)
    report = check(db)
    assert not report.ok, column


def test_a_node_outside_the_tree_is_reported(db: Database) -> None:
    with db.session() as session:
        session.execute(sa.insert(table(AuditNode)).values(level=3, idx=5, hash=b"\1" * 32))
    report = check(db)
    assert not report.ok
    assert report.fault is Fault.INSERTED
    assert "node (3, 5) outside the log" in report.message


def test_a_column_no_rule_derives_is_reported(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if a column were added to the model and forgotten in SEARCH_COLUMNS.
    forgotten = {k: v for k, v in SEARCH_COLUMNS.items() if k != "purpose"}
    monkeypatch.setattr(audit_queries, "SEARCH_COLUMNS", forgotten)
    report = check(db)
    assert not report.ok
    assert report.message.startswith("column purpose of audit_entries is not derived")


def test_checkpoints_sign_their_creation_time(db: Database) -> None:
    latest = SqlAuditStore(db).latest_checkpoint()
    assert latest is not None
    body = verify_note(latest.note, SIGNER.verifier(), origin=DEFAULT_ORIGIN)
    assert checkpoint_time(body) == latest.created_at


def test_the_report_carries_its_findings_as_json(db: Database) -> None:
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_entries SET subject = 'afm:0' WHERE idx = 0"))
    assert check(db).to_json_obj()["findings"] == [
        {"fault": "altered", "index": 0, "message": "column subject differs from its entry"}
    ]


def test_findings_beyond_the_bound_are_counted(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_queries, "MAX_FINDINGS", 2)
    with db.session() as session:
        session.execute(sa.text("UPDATE audit_entries SET purpose = 'x' WHERE idx < 5"))
    report = check(db)
    assert [f.index for f in report.findings] == [0, 1, None]
    assert report.findings[-1].message == "3 more findings are not listed"
