"""Builds case status: the store (with its outbox notices) and the service.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete store (``hub/persistence/cases.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.cases.service import CaseService
from hub.persistence.cases import OutboxCaseNotices, SqlCaseStore

if TYPE_CHECKING:
    from hub.catalog.files import LoadedCatalog
    from hub.persistence.auditlog import SqlAccessLog
    from hub.persistence.db import Database
    from hub.webhooks.ports import EventPublisher

__all__ = ["build_case_service"]


def build_case_service(
    db: Database,
    loaded: LoadedCatalog,
    *,
    access_log: SqlAccessLog,
    events: EventPublisher,
) -> CaseService:
    """Cases on the hub's database; changes notify the citizen and publish ``events``."""
    store = SqlCaseStore(db, access_log, notices=OutboxCaseNotices(), events=events)
    return CaseService(
        catalog=loaded.holder,
        store=store,
        evidence_log=store,
        access_log=access_log,
    )
