"""The SQL notification store against the port the notification service names."""

from __future__ import annotations

from pathlib import Path

from hub.notifications.ports import NotificationStore
from hub.persistence.db import Database
from hub.persistence.notifications import SqlNotificationStore


def test_the_sql_store_implements_the_port(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        assert isinstance(SqlNotificationStore(db), NotificationStore)
    finally:
        db.dispose()


def test_the_port_names_every_method_the_store_offers() -> None:
    # A store method the service could reach for without the port would let
    # the service drift back to the concrete class.
    offered = {name for name in vars(SqlNotificationStore) if not name.startswith("_")}
    named = {name for name in vars(NotificationStore) if not name.startswith("_")}
    assert offered <= named | {"db"}
    assert "claim_messages" in named
