"""How a handler reaches the services wired by ``create_app``.

The outer middleware puts the :class:`~hub.app.Services` of the app that
serves the request into the ASGI scope's ``state``; handlers and security
functions read it from there. No process-wide globals, so several apps (one
per test) live side by side in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connexion.context import scope as _scope

if TYPE_CHECKING:
    from hub.app import Services

__all__ = ["STATE_KEY", "services", "services_from_scope"]

STATE_KEY = "hub_services"


def services_from_scope(scope: Any) -> Services:
    services: Services = scope["state"][STATE_KEY]
    return services


def services() -> Services:
    """The services of the app serving the current request."""
    return services_from_scope(_scope)
