"""A ``hub serve`` process with extra ``HUB_*`` variables, for the hardening tests.

The server's own limits (header deadline, connection limit, trusted
proxies) live in ``hub serve``'s uvicorn configuration, so they are tested
against the real command, configured only through its environment.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hub.config import Settings
from tests.common.hubs import HubProcess


@dataclass
class ConfiguredHub(HubProcess):
    """:class:`HubProcess` with ``extra`` variables on top of the test environment."""

    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra}


@contextmanager
def hub_process(
    work: Path, settings: Settings, extra: Mapping[str, str]
) -> Iterator[ConfiguredHub]:
    """A started hub process on its own migrated SQLite file under ``work``."""
    from hub.persistence import migrate  # noqa: PLC0415
    from hub.persistence.db import Database  # noqa: PLC0415

    db = Database(settings.database_url)
    migrate.upgrade(db)
    db.dispose()
    process = ConfiguredHub(settings, work / "hub.log", extra=dict(extra))
    process.start()
    try:
        yield process
    finally:
        process.stop()
