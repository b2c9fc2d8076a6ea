"""How a handler reaches the services wired by ``create_app``.

The outer middleware puts the :class:`~hub.services.Services` of the app that
serves the request into the ASGI scope's ``state``; handlers and security
functions read it from there. No process-wide globals, so several apps (one
per test) live side by side in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connexion.context import context as _context
from connexion.context import scope as _scope

from hub.domain.auth import AuditorPrincipal, CitizenPrincipal

if TYPE_CHECKING:
    from hub.services import Services

__all__ = [
    "STATE_KEY",
    "auditor_principal",
    "citizen_principal",
    "services",
    "services_from_scope",
]

STATE_KEY = "hub_services"


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
