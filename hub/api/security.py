"""Bearer-token checks that connexion runs before a handler is called.

Each function receives the token and the request, finds the services of the
app serving it, and returns the token's claims or raises InvalidToken.
"""

from __future__ import annotations

from typing import Any

from hub.api._context import services_from_scope

__all__ = ["agency_token", "auditor_token", "citizen_token"]


def agency_token(token: str, request: Any = None) -> dict[str, Any]:
    principal = services_from_scope(request.scope).tokens.verify_access_token(token)
    return {
        "sub": principal.agency_id,
        "kind": "agency",
        "purposes": list(principal.purposes),
        "token_id": principal.token_id,
    }


def citizen_token(token: str, request: Any = None) -> dict[str, Any]:
    citizen = services_from_scope(request.scope).tokens.verify_citizen_token(token)
    return {
        "sub": f"afm:{citizen.afm}",
        "kind": "citizen",
        "afm": citizen.afm,
        "amka": citizen.amka,
        "name": citizen.name,
    }


def auditor_token(token: str, request: Any = None) -> dict[str, Any]:
    auditor = services_from_scope(request.scope).tokens.verify_auditor_token(token)
    return {"sub": auditor.name, "kind": "auditor"}
