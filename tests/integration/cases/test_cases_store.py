"""The case store on a real database: its ports, one transaction per change, races.

A change, its access-log entry, the citizen's notice and the agency's
webhook deliveries commit together: when any part fails, none is left. Two
agencies' systems changing the same case at once both land, one after the
other, and the timeline keeps both.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.auth.models import AgencyPrincipal
from hub.cases.models import CaseNotice
from hub.cases.ports import CaseEvidenceLog, CaseNotices, CaseStore
from hub.cases.service import CaseService
from hub.catalog.files import load_catalog
from hub.config import Settings
from hub.domain.identity import CitizenRef
from hub.errors import StorageError
from hub.persistence import migrate
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.case_models import CaseChangeRow, CaseRow
from hub.persistence.cases import OutboxCaseNotices, SqlCaseStore
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from hub.persistence.notification_models import OutboxRow
from hub.persistence.webhook_models import WebhookDeliveryRow
from hub.persistence.webhooks import SqlWebhookStore
from hub.webhooks.models import Endpoint
from hub.webhooks.ports import DeliveryQueue, EndpointStore, EventPublisher

OPEKA = AgencyPrincipal(agency_id="opeka", purposes=(), token_id="t")
CITIZEN = CitizenRef("afm", "090000045")


class _BrokenNotices:
    """A notices port whose outbox refuses the write, as a full disk would."""

    def case_changed(self, transaction: Any, notice: CaseNotice) -> None:
        raise StorageError("the outbox did not accept the notice")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def _service(db: Database, notices: CaseNotices | None = None) -> CaseService:
    catalog = load_catalog(Settings().catalog_dir).catalog
    log = SqlAccessLog(db)
    store = SqlCaseStore(
        db, log, notices=notices or OutboxCaseNotices(), events=SqlWebhookStore(db)
    )
    return CaseService(catalog=catalog, store=store, evidence_log=store, access_log=log)


def _count(db: Database, table: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_stores_implement_their_ports(db: Database) -> None:
    log = SqlAccessLog(db)
    webhooks = SqlWebhookStore(db)
    cases = SqlCaseStore(db, log, notices=OutboxCaseNotices(), events=webhooks)
    assert isinstance(cases, CaseStore)
    assert isinstance(cases, CaseEvidenceLog)
    assert isinstance(OutboxCaseNotices(), CaseNotices)
    assert isinstance(webhooks, EndpointStore)
    assert isinstance(webhooks, DeliveryQueue)
    assert isinstance(webhooks, EventPublisher)


def test_a_failed_notice_leaves_no_case_no_entry_and_no_delivery(db: Database) -> None:
    SqlWebhookStore(db).add(
        Endpoint(
            id="e1",
            agency_id="opeka",
            url="https://hooks.example.org/x",
            event_types=("case.updated",),
            created_at=dt.datetime.now(dt.UTC),
            secret="whsec_" + "A" * 44,
        ),
        limit=10,
    )
    service = _service(db, _BrokenNotices())
    with pytest.raises(StorageError):
        service.update(OPEKA, "R-1", citizen=CITIZEN, title="Αίτηση", status="received")
    assert _count(db, CaseRow) == 0
    assert _count(db, CaseChangeRow) == 0
    assert _count(db, AuditEntryRow) == 0
    assert _count(db, WebhookDeliveryRow) == 0
    assert _count(db, OutboxRow) == 0
    # With a working outbox the same change writes all five.
    _service(db).update(OPEKA, "R-1", citizen=CITIZEN, title="Αίτηση", status="received")
    for table in (CaseRow, CaseChangeRow, AuditEntryRow, WebhookDeliveryRow, OutboxRow):
        assert _count(db, table) == 1, table


def test_concurrent_changes_of_one_case_all_land(db: Database) -> None:
    services = [_service(db) for _ in range(4)]
    statuses = ["received", "in-review", "decided", "closed"]
    barrier = threading.Barrier(len(services))
    errors: list[Exception] = []

    def change(service: CaseService, status: str) -> None:
        barrier.wait()
        try:
            service.update(OPEKA, "RACE-1", citizen=CITIZEN, title="Αίτηση", status=status)
        except Exception as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=change, args=(s, st))
        for s, st in zip(services, statuses, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    history = services[0].store.history("opeka", "RACE-1")
    assert sorted(c.status for c in history) == sorted(statuses)
    case = services[0].store.get("opeka", "RACE-1")
    assert case is not None
    assert case.version == len(statuses)
    assert case.status == history[-1].status
    assert _count(db, OutboxRow) == len(statuses)
