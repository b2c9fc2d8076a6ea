"""How a handler reaches the services wired by ``create_app``.

The outer middleware puts the :class:`~hub.services.Services` of the app that
serves the request into the ASGI scope's ``state``; handlers and security
functions read it from there. No process-wide globals, so several apps (one
per test) live side by side in one process.

The request id of the request being served is the hub's own, minted by the
middleware (``hub.logs.REQUEST_ID``); the id a client sent in
``X-Request-ID`` is kept apart in :data:`CLIENT_REQUEST_ID`. A client's id
is only a label: two agencies may send the same one, so it never stands in
for the hub's id in the log or a seal.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from connexion.context import context as _context
from connexion.context import scope as _scope

from hub.auth.models import AuditorPrincipal, CitizenPrincipal

if TYPE_CHECKING:
    from hub.services import Services

__all__ = [
    "CLIENT_REQUEST_ID",
    "STATE_KEY",
    "auditor_principal",
    "citizen_principal",
    "services",
    "services_from_scope",
]

STATE_KEY = "hub_services"

#: The ``X-Request-ID`` the client sent (when well-formed), else None.
CLIENT_REQUEST_ID: ContextVar[str | None] = ContextVar("hub_client_request_id", default=None)


def services_from_scope(scope: Any) -> Services:
    services: Services = scope["state"][STATE_KEY]
    return services


def services() -> Services:
    """The services of the app serving the current request."""
    return services_from_scope(_scope)


def citizen_principal() -> CitizenPrincipal:
    """The citizen the request's (already verified) ID token names."""
    info = _context["token_info"]
    return CitizenPrincipal(afm=info["afm"], amka=info.get("amka"), name=info.get("name"))


def auditor_principal() -> AuditorPrincipal:
    return AuditorPrincipal(name=_context["token_info"]["sub"])
