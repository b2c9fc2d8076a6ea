"""Builds the consent feature from the hub's database, catalogue and keys.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete store (``hub/persistence/consents.py``), which the rest of the
package only sees through its ports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.consent.service import ConsentService, StoredConsentGate
from hub.persistence.consents import SqlConsentStore

if TYPE_CHECKING:
    from hub.consent.ports import PreviewFetcher
    from hub.domain.catalog import CatalogView
    from hub.domain.sealing.keystore import KeyStore
    from hub.persistence.auditlog import SqlAccessLog
    from hub.persistence.db import Database
    from hub.webhooks.ports import EventPublisher

__all__ = ["build_consent_service", "build_consent_store", "build_gate"]


def build_consent_store(
    db: Database, access_log: SqlAccessLog, *, events: EventPublisher | None = None
) -> SqlConsentStore:
    """Consents on the hub's database; decisions publish agencies' ``events``."""
    return SqlConsentStore(db, access_log, events=events)


def build_gate(store: SqlConsentStore) -> StoredConsentGate:
    """The gate the evidence service asks before it calls a registry."""
    return StoredConsentGate(store)


def build_consent_service(
    store: SqlConsentStore,
    *,
    catalog: CatalogView,
    access_log: SqlAccessLog,
    fetcher: PreviewFetcher,
    keystore: KeyStore,
) -> ConsentService:
    """Consent's use cases; the store is also the citizen's log reader."""
    return ConsentService(
        catalog=catalog,
        store=store,
        access_log=access_log,
        log_reader=store,
        fetcher=fetcher,
        keystore=keystore,
    )
