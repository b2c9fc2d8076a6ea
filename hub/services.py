"""The services of one running hub: an immutable, typed container.

``hub.app`` builds a :class:`Services` from settings (it is the only module
that knows concrete classes); the API handlers, the pages and the CLI read
it. They depend on this module and on the domain, never on ``hub.app``.

Every service is always present. One the hub cannot build — the certificate,
consent, audit and token services need the key store, which is missing until
``hub keys init`` — is a :func:`disabled` stand-in: any use of it raises
:class:`~hub.errors.ServiceUnavailable` with the reason (a 503 problem, or an
error page), so no handler asks "is it there?" and a typo cannot silently turn
a service off. :func:`unavailable_reason` tells the few places that report
health (readiness, the CLI) whether a service is disabled and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from hub.errors import ServiceUnavailable

if TYPE_CHECKING:
    from hub.audit.service import AuditService
    from hub.audit.witnessing import WitnessSubmitter
    from hub.auth.ports import CitizenSignIn
    from hub.auth.service import TokenService
    from hub.cases.service import CaseService
    from hub.catalog.files import LoadedCatalog
    from hub.certificates.issuance import IssuanceGate
    from hub.certificates.service import CertificateService
    from hub.config import Settings
    from hub.consent.service import ConsentService
    from hub.domain.ports import RateLimiter
    from hub.domain.sealing.keystore import FileKeyStore
    from hub.evidence.ports import RegistryClient
    from hub.evidence.service import EvidenceService
    from hub.metrics import Metrics
    from hub.notifications.service import NotificationService
    from hub.persistence.auditlog import SqlAccessLog
    from hub.persistence.db import Database
    from hub.webhooks.service import WebhookService
    from hub.webhooks.worker import WebhookWorker

__all__ = ["ReadinessCheck", "Services", "disabled", "unavailable_reason"]

ReadinessCheck = Callable[[], tuple[bool, str]]

_T = TypeVar("_T")


class _Disabled:
    """Stands in for a service the hub could not build; every use says why."""

    __slots__ = ("_reason", "_service")

    def __init__(self, service: str, reason: str) -> None:
        self._service = service
        self._reason = reason

    def __getattr__(self, name: str) -> NoReturn:
        raise ServiceUnavailable(self._reason)

    def __repr__(self) -> str:
        return f"<disabled {self._service}: {self._reason}>"


def disabled(kind: type[_T], reason: str) -> _T:
    """A stand-in for a ``kind`` the hub cannot provide, answering 503 with ``reason``."""
    return cast(_T, _Disabled(kind.__name__, reason))


def unavailable_reason(service: object) -> str | None:
    """Why ``service`` is disabled, or None when it is a working one."""
    return service._reason if isinstance(service, _Disabled) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """The wired parts of one running hub (built by ``hub.app.build_services``)."""

    settings: Settings
    db: Database
    metrics: Metrics
    catalog: LoadedCatalog
    registries: Mapping[str, RegistryClient]
    access_log: SqlAccessLog
    evidence: EvidenceService
    keystore: FileKeyStore
    tokens: TokenService
    audit: AuditService
    certificates: CertificateService
    consents: ConsentService
    #: Contacts, preferences and the notification outbox's delivery.
    notifications: NotificationService
    #: Certificate issuance: a per-citizen limit and a bounded worker pool.
    issuance: IssuanceGate
    #: The public verification endpoints' limit per client address.
    verify_limiter: RateLimiter
    #: The token endpoint's limit per client address.
    token_limiter: RateLimiter
    #: The web sign-in through the citizens' identity issuer; None: the dev picker.
    citizen_signin: CitizenSignIn | None
    #: Case status (issue 15 §5): agencies' cases and the citizen's timelines.
    cases: CaseService
    #: Agencies' webhook endpoints, and the worker that delivers to them.
    webhooks: WebhookService
    webhook_worker: WebhookWorker
    readiness: Mapping[str, ReadinessCheck]
    #: Submits checkpoints to the configured witnesses; None: no witnesses.
    witnessing: WitnessSubmitter | None = None

    def ready(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        results: dict[str, dict[str, Any]] = {}
        for name, check in self.readiness.items():
            ok, detail = check()
            results[name] = {"ok": ok, "detail": detail}
        return all(r["ok"] for r in results.values()), results

    def close(self) -> None:
        self.notifications.close()
        for client in self.registries.values():
            client.close()
        if unavailable_reason(self.issuance) is None:
            self.issuance.close()
        self.db.dispose()
