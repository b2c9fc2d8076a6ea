"""Builds the evidence exchange: a client per registry, and the service over them.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete registry clients (``adapters/``) and their resilience, which
the service only sees through :class:`~hub.evidence.ports.RegistryClient`.
``hub.app.reload_catalog`` calls :func:`build_registry_clients` again for the
registries a new catalogue adds or changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters._auth import Access, request_auth
from adapters.resilience import Policy, Resilient
from adapters.rest import RestRegistryClient
from adapters.soap import SoapRegistryClient
from hub.errors import ConfigError
from hub.evidence.service import EvidenceService

if TYPE_CHECKING:
    from hub.audit.ports import AccessLog
    from hub.catalog.files import LoadedCatalog
    from hub.config import Settings
    from hub.domain.catalog import RegistrySpec
    from hub.evidence.ports import ConsentGate, RegistryClient
    from hub.metrics import Metrics

__all__ = ["WORKER_THREADS", "build_evidence_service", "build_registry_clients"]

#: The threads that run synchronous handlers, registry calls included:
#: anyio's default limiter, which connexion's AsyncApp uses for every sync handler.
WORKER_THREADS = 40


#: The kinds of access that need a name and a password (or client id and secret).
_PAIR_KINDS = ("basic", "oauth2_client_credentials", "username_token")


def _credentials(settings: Settings, spec: RegistrySpec) -> tuple[str, str] | None:
    kind = spec.auth.get("kind")
    if spec.credentials is None or kind not in _PAIR_KINDS:
        return None
    found = settings.registry_credentials.get(spec.credentials)
    if found is not None:
        return found
    if settings.is_production or kind != "username_token":
        # The sandbox's default pair stands in for WS-Security only, outside
        # production: every other secret is named by the operator, always.
        raise ConfigError(
            f"registry {spec.id} needs credentials: set HUB_REGISTRY_CREDENTIALS_"
            f"{spec.credentials.upper().replace('-', '_')}=user:password"
        )
    from adapters.sandbox.runner import DEFAULT_CREDENTIALS  # noqa: PLC0415 - development only

    return DEFAULT_CREDENTIALS


def _access(settings: Settings, spec: RegistrySpec) -> Access:
    """The secrets and files the catalogue's ``credentials`` name, from the settings."""
    if spec.credentials is None:
        return Access(ca_file=settings.registry_ca_file)
    files = settings.registry_files.get(spec.credentials, {})
    return Access(
        credentials=_credentials(settings, spec),
        secret=settings.registry_secrets.get(spec.credentials),
        client_cert=files.get("client_cert"),
        client_key=files.get("client_key"),
        ca_file=files.get("ca_file", settings.registry_ca_file),
        signing_key=files.get("signing_key"),
        signing_cert=files.get("signing_cert"),
        registry_cert=files.get("registry_cert"),
    )


def build_registry_clients(
    settings: Settings, loaded: LoadedCatalog, metrics: Metrics
) -> dict[str, RegistryClient]:
    def outcome(registry: str, result: str) -> None:
        metrics.registry_calls.labels(registry, result).inc()

    in_flight = sum(
        min(spec.max_concurrency, settings.registry_max_in_flight)
        for spec in loaded.catalog.registries.values()
    )
    if in_flight >= WORKER_THREADS:
        # Then registries stuck all at once could hold every worker thread,
        # and /healthz with them.
        raise ConfigError(
            f"the registries' bulkheads add up to {in_flight} calls in flight, not fewer "
            f"than the server's {WORKER_THREADS} worker threads: lower "
            "HUB_REGISTRY_MAX_IN_FLIGHT or the catalogue's max_concurrency"
        )
    clients: dict[str, RegistryClient] = {}
    for spec in loaded.catalog.registries.values():
        # HUB_REGISTRY_TIMEOUT caps every registry's own timeout, and
        # HUB_REGISTRY_MAX_IN_FLIGHT its bulkhead: the worker threads that
        # run registry calls are shared with every other request.
        timeout = min(spec.timeout or settings.registry_timeout, settings.registry_timeout)
        policy = Policy(
            timeout=timeout,
            retries=spec.retries,
            max_concurrency=min(spec.max_concurrency, settings.registry_max_in_flight),
            queue_timeout=min(settings.registry_queue_wait, timeout),
            failure_threshold=settings.registry_breaker_failures,
            reset_after=settings.registry_breaker_pause,
        )
        resilient = Resilient(spec.id, policy, on_outcome=outcome)
        url = settings.registry_urls.get(spec.id, spec.endpoint)
        access = _access(settings, spec)
        if spec.protocol == "rest":
            clients[spec.id] = RestRegistryClient(
                spec.id,
                url,
                spec.operations,
                policy,
                resilient=resilient,
                description=settings.registries_dir / spec.description,
                ca_file=settings.registry_ca_file,
                auth=request_auth(spec.id, url, spec.auth, access),
                access=access,
                mutual_tls=spec.mutual_tls,
            )
        else:
            clients[spec.id] = SoapRegistryClient(
                spec.id,
                settings.registries_dir / spec.description,
                url,
                policy,
                resilient=resilient,
                ca_file=settings.registry_ca_file,
                auth=spec.auth,
                access=access,
                binding=spec.binding,
                mutual_tls=spec.mutual_tls,
                operations=spec.operations,
            )
    return clients


def build_evidence_service(
    loaded: LoadedCatalog,
    registries: dict[str, RegistryClient],
    *,
    access_log: AccessLog,
    consents: ConsentGate,
) -> EvidenceService:
    """The exchange over the catalogue in force; unsealed until a sealer is set."""
    return EvidenceService(
        catalog=loaded.holder,
        registries=registries,
        access_log=access_log,
        identity=loaded.identity,
        consents=consents,
    )
