"""The once-only data exchange hub.

Agencies obtain a citizen's data straight from the authoritative registries for a
declared purpose; citizens see and control every use; anyone verifies sealed
documents; auditors prove the access log was never altered.

Architecture (the dependency rule is ``api -> features, domain <- persistence,
adapters``; tests/unit/architecture checks it, that no imports form a cycle,
and that a feature's core never names persistence or adapters)::

    hub.config        Settings: the only reader of the environment
    hub.errors        HubError tree -> RFC 9457 problem types
    hub.app           create_app(settings): composes the features' factories
    hub.services      Services: the immutable container api/, web/ and cli read
    hub._patches      the guarded patches of library internals, applied at start-up
    hub.api           thin HTTP handlers, one module per tag of specs/hub.yaml
    hub.web           server-rendered pages (never imports hub.api or hub.app)
    hub.<feature>     evidence, consent, certificates, audit, auth, cases,
                      notifications, webhooks, catalog: each a package of
                      models (values), ports (protocols), service (the rules)
                      and factory (builds it from settings and persistence)
    hub.domain        pure logic the features share: identity, catalogue,
                      policy expressions, the Merkle log, sealing
    hub.persistence   SQLAlchemy models, repositories, Alembic migrations
    hub.cli           the ``hub`` command
    adapters          registry clients (REST, SOAP) and the sandbox registries
"""

from __future__ import annotations

__version__ = "0.1.0"
