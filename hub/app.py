"""create_app(settings): the hub composed from its features' factories.

Each feature package (``hub.evidence``, ``hub.consent``, ``hub.certificates``,
``hub.audit``, ``hub.auth``, ``hub.cases``, ``hub.notifications``,
``hub.webhooks``) owns a ``factory`` that builds its service from
:class:`~hub.config.Settings` and the persistence it needs; this module calls
them in order into a :class:`Services` container, which the outer middleware
hands to each request. Swapping an implementation (SQLite for PostgreSQL,
files for an HSM, a sandbox registry for a real one) is a change in a
factory and in settings, never in a feature's rules.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions

from adapters.hsm import open_key
from hub import _patches
from hub.api import openapi31, problems
from hub.api.middleware import HubMiddleware
from hub.api.operations import OperationResolver
from hub.audit.factory import build_access_log, build_audit_service, build_witnessing
from hub.audit.service import AuditService
from hub.auth.agency_keys import AgencyKeyRing
from hub.auth.factory import build_citizen_issuer, build_token_service
from hub.auth.service import TokenService
from hub.cases.factory import build_case_service
from hub.catalog.files import load_catalog, load_configured_catalog
from hub.certificates.factory import build_certificate_service, build_issuance
from hub.certificates.issuance import IssuanceGate
from hub.certificates.service import CertificateService
from hub.config import Settings
from hub.consent.factory import build_consent_service, build_consent_store, build_gate
from hub.consent.service import ConsentService
from hub.domain.sealing import keystore as keystore_files
from hub.domain.sealing.errors import KeyStoreError
from hub.domain.sealing.jws import KeyStoreJsonSealer
from hub.domain.sealing.keystore import FileKeyStore, KeyPurpose
from hub.errors import ConfigError
from hub.evidence.factory import build_evidence_service, build_registry_clients
from hub.metrics import Metrics
from hub.notifications.factory import build_notifications
from hub.notifications.service import NotificationWorker
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.ratelimit import SqlRateLimiter
from hub.services import ReadinessCheck, Services, disabled, unavailable_reason
from hub.web import PageErrors, PageRouter, create_pages
from hub.webhooks.factory import build_webhook_store, build_webhooks

__all__ = [
    "HubApp",
    "Services",
    "build_services",
    "create_app",
    "production_refusals",
]


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


def _keys_check(keystore: FileKeyStore) -> ReadinessCheck:
    def check() -> tuple[bool, str]:
        problem = unavailable_reason(keystore)
        if problem is not None:
            return False, problem
        return True, f"{len(keystore.records())} keys loaded"

    return check


#: What the development PKI writes into every certificate it issues.
DEVELOPMENT_MARK = "(development)"


def production_refusals(settings: Settings, keystore: FileKeyStore) -> list[str]:
    """Why a production hub must not start with these settings and keys (empty: it may).

    A certificate saying "(development)" was made by ``hub keys init`` on some
    machine, not issued by a trust service provider; an ``http://`` public
    address puts the tokens and every link the hub prints in clear text.
    """
    refusals: list[str] = []
    if not settings.public_url.startswith("https://"):
        refusals.append(f"HUB_PUBLIC_URL must be an https:// address, not {settings.public_url}")
    reason = unavailable_reason(keystore)
    if reason is not None:
        return [*refusals, reason]
    for purpose in (KeyPurpose.SEAL, KeyPurpose.TSA):
        if purpose is KeyPurpose.TSA and settings.tsa_url is not None:
            continue  # the development TSA is not used
        if purpose is KeyPurpose.TSA and settings.pades_level in ("B-B",):
            continue
        record = keystore.current(purpose)
        chain = keystore.certificate_chain(record.kid)
        named = [c.subject.rfc4514_string() for c in chain]
        marked = [n for n in named if DEVELOPMENT_MARK in n]
        if marked:
            hint = (
                "import one certified by a trust service provider: hub keys import seal"
                if purpose is KeyPurpose.SEAL
                else "point HUB_TSA_URL at a timestamp authority"
            )
            refusals.append(
                f"the {purpose} key {record.kid} is a development key ({marked[0]}); {hint}"
            )
    return refusals


def build_services(settings: Settings) -> Services:
    db = Database(settings.database_url)
    metrics = Metrics()
    loaded = load_configured_catalog(settings)
    registries = build_registry_clients(settings, loaded, metrics)
    access_log = build_access_log(db, loaded.holder)
    notifications = build_notifications(settings, db, loaded, metrics, access_log)
    webhook_store = build_webhook_store(db)
    consent_store = build_consent_store(db, access_log, events=webhook_store)
    evidence = build_evidence_service(
        loaded, registries, access_log=access_log, consents=build_gate(consent_store)
    )
    citizen_arguments, citizen_signin = build_citizen_issuer(settings)
    try:
        keystore = keystore_files.load(settings.keys_dir, settings.keys_passphrase, hsm=open_key)
    except KeyStoreError as exc:
        # Without keys the hub still serves evidence unsealed, the pages and
        # the health checks; whatever needs a key answers 503 with this reason.
        problem = f"{exc.detail}; run 'hub keys init'"
        keystore = disabled(FileKeyStore, f"The hub has no keys: {problem}")
        tokens = disabled(TokenService, f"The hub has no signing keys: {problem}")
        certificates = disabled(CertificateService, f"The hub has no seal key: {problem}")
        consents = disabled(ConsentService, f"The hub has no seal key: {problem}")
        audit = disabled(AuditService, f"The access log has no signing key: {problem}")
        witnessing = None
        issuance = disabled(IssuanceGate, f"The hub has no seal key: {problem}")
    else:
        tokens = build_token_service(
            settings, keystore, loaded=loaded, db=db, citizen=citizen_arguments
        )
        evidence.sealer = KeyStoreJsonSealer(keystore)
        certificates = build_certificate_service(
            settings,
            keystore,
            loaded=loaded,
            evidence=evidence,
            registries=registries,
            db=db,
            access_log=access_log,
        )
        issuance = build_issuance(settings, db)
        consents = build_consent_service(
            consent_store,
            catalog=loaded.holder,
            access_log=access_log,
            fetcher=evidence,
            keystore=keystore,
        )
        audit = build_audit_service(
            db,
            keystore,
            access_log=access_log,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_seconds=settings.checkpoint_seconds,
        )
        witnessing = build_witnessing(settings, db, audit)
    cases = build_case_service(db, loaded, access_log=access_log, events=webhook_store)
    webhooks, webhook_worker = build_webhooks(settings, webhook_store)
    return Services(
        settings=settings,
        db=db,
        metrics=metrics,
        catalog=loaded,
        registries=registries,
        access_log=access_log,
        evidence=evidence,
        keystore=keystore,
        tokens=tokens,
        audit=audit,
        certificates=certificates,
        consents=consents,
        notifications=notifications,
        issuance=issuance,
        verify_limiter=SqlRateLimiter(
            db, limit=settings.verify_rate_limit, window=settings.verify_rate_window, scope="verify"
        ),
        token_limiter=SqlRateLimiter(db, limit=settings.token_rate_limit, window=60, scope="token"),
        citizen_signin=citizen_signin,
        witnessing=witnessing,
        cases=cases,
        webhooks=webhooks,
        webhook_worker=webhook_worker,
        readiness={
            "database": _database_check(db),
            "migrations": _migrations_check(db),
            "keys": _keys_check(keystore),
        },
    )


class HubApp:
    """The ASGI application: the hub's middleware around the connexion app."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # Before connexion loads the 3.1 document, and before any certificate
        # is rendered or verified: the guarded library patches, all at once.
        _patches.apply()
        # Swagger UI 5 (swagger-ui-bundle-v2, found by connexion under the
        # module name swagger_ui_bundle) renders OpenAPI 3.1; version 4 cannot.
        ui = SwaggerUIOptions(swagger_ui=True, spec_path="/openapi.json")
        self.connexion = AsyncApp(
            __name__,
            specification_dir=str(services.settings.specs_dir),
            swagger_ui_options=ui,
            # Greek text stays readable in responses instead of \u escapes.
            jsonifier=Jsonifier(json, ensure_ascii=False),
        )
        self.connexion.add_api(
            openapi31.load_document(services.settings.specs_dir / "hub.yaml"),
            strict_validation=True,
            validate_responses=True,
            validator_map=openapi31.VALIDATOR_MAP,
            swagger_ui_options=ui,
            resolver=OperationResolver(),
        )
        problems.register(self.connexion)
        # People's pages answer their own path prefixes (hub/web); the API has the rest.
        pages = PageRouter(self.connexion, create_pages(services))
        self._asgi = PageErrors(HubMiddleware(pages, services), services)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._asgi(scope, self._lifespan(receive), send)
            return
        await self._asgi(scope, receive, send)

    def _lifespan(self, receive: Any) -> Any:
        """Start the notification workers with the server, stop them with it."""
        workers: list[NotificationWorker] = []
        services = self.services

        async def wrapped() -> Any:
            message = await receive()
            kind = message.get("type")
            count = services.settings.notify_workers
            # Without a provider there is nothing to deliver: no idle polling.
            if kind == "lifespan.startup" and count and services.notifications.senders:
                for number in range(count):
                    worker = NotificationWorker(services.notifications, name=f"notify-{number}")
                    worker.start()
                    workers.append(worker)
            elif kind == "lifespan.shutdown":
                for worker in workers:
                    await asyncio.to_thread(worker.stop)
                workers.clear()
            return message

        return wrapped


def create_app(settings: Settings | None = None, services: Services | None = None) -> HubApp:
    """Build the hub for ``settings`` (from the environment when omitted)."""
    if services is None:
        services = build_services(settings or Settings.from_env())
    return HubApp(services)


def catalog_directories(settings: Settings) -> tuple[Path, tuple[Path, ...]]:
    """The catalogue directory and those ``HUB_CATALOG_DIRS`` merges over it."""
    return settings.catalog_dir, tuple(settings.catalog_dirs)


def reload_catalog(services: Services) -> str:
    """Read the catalogue again and put it in force; its version, or ConfigError.

    Everything that can fail happens before the swap: reading and checking
    the files, and building clients for registries that are new or whose
    entry changed. A catalogue that fails any of it is not installed and the
    one in force keeps serving. Clients of unchanged registries are kept
    (with their breakers and pools); the identity lookup is fixed at start-up.
    Everything else reads the catalogue through the holder it swaps: the
    evidence, consent, certificate and case services, the agencies' keys and
    purposes behind the token endpoint, and the notifications' templates and
    the purposes whose accesses are announced later.
    """
    directory, extra = catalog_directories(services.settings)
    fresh = load_catalog(directory, extra)
    holder = services.catalog.holder
    if fresh.identity != services.catalog.identity:
        raise ConfigError("the identity lookup (registries.yaml identity:) changes only on restart")
    old = holder.current.registries
    changed = {rid for rid, spec in fresh.catalog.registries.items() if old.get(rid) != spec}
    settings = services.settings
    # The agencies' keys of the new catalogue must all read before it serves.
    AgencyKeyRing(fresh.catalog, settings.keys_dir, allow_development=not settings.is_production)
    clients = build_registry_clients(settings, fresh, services.metrics)
    for rid, client in clients.items():
        if rid not in changed:
            client.close()
    registries = services.registries
    if changed:
        if not isinstance(registries, dict):
            raise ConfigError("this hub's registries cannot change without a restart")
        # Added before the swap: the catalogue in force does not name a new id,
        # and a changed registry's new client is what the new catalogue expects.
        registries.update({rid: clients[rid] for rid in changed})
    holder.swap(fresh.catalog)
    return fresh.catalog.version
