"""create_app(settings): the one place that wires concrete parts together.

Everything the handlers need is built here from :class:`~hub.config.Settings`
into a :class:`Services` container, which the outer middleware hands to each
request. Swapping an implementation (SQLite for PostgreSQL, files for an HSM)
is a change here and in settings, never in the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connexion import AsyncApp
from connexion.options import SwaggerUIOptions

from hub.api import openapi31, problems
from hub.api.middleware import HubMiddleware
from hub.config import Settings
from hub.metrics import Metrics
from hub.persistence import migrate
from hub.persistence.db import Database

__all__ = ["HubApp", "Services", "build_services", "create_app"]

ReadinessCheck = Callable[[], tuple[bool, str]]


@dataclass
class Services:
    """The wired parts of one running hub."""

    settings: Settings
    db: Database
    metrics: Metrics
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)

    def ready(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        results: dict[str, dict[str, Any]] = {}
        for name, check in self.readiness.items():
            ok, detail = check()
            results[name] = {"ok": ok, "detail": detail}
        return all(r["ok"] for r in results.values()), results

    def close(self) -> None:
        self.db.dispose()


def _database_check(db: Database) -> ReadinessCheck:
    def check() -> tuple[bool, str]:
        return (True, "reachable") if db.ping() else (False, "unreachable")

    return check


def _migrations_check(db: Database) -> ReadinessCheck:
    def check() -> tuple[bool, str]:
        if not db.ping():
            return False, "database unreachable"
        current, head = migrate.current_revision(db), migrate.head_revision()
        if current == head:
            return True, f"at {head}"
        return False, f"at {current or 'nothing'}, head is {head}; run 'hub db upgrade'"

    return check


def build_services(settings: Settings) -> Services:
    db = Database(settings.database_url)
    services = Services(settings=settings, db=db, metrics=Metrics())
    services.readiness["database"] = _database_check(db)
    services.readiness["migrations"] = _migrations_check(db)
    return services


class HubApp:
    """The ASGI application: the hub's middleware around the connexion app."""

    def __init__(self, services: Services) -> None:
        self.services = services
        openapi31.install()
        self.connexion = AsyncApp(
            __name__,
            specification_dir=str(services.settings.specs_dir),
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, spec_path="/openapi.json"),
        )
        self.connexion.add_api(
            "hub.yaml",
            strict_validation=True,
            validate_responses=True,
            validator_map=openapi31.VALIDATOR_MAP,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, spec_path="/openapi.json"),
        )
        problems.register(self.connexion)
        self._asgi = HubMiddleware(self.connexion, services)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None) -> HubApp:
    """Build the hub for ``settings`` (from the environment when omitted)."""
    if services is None:
        services = build_services(settings or Settings.from_env())
    return HubApp(services)
