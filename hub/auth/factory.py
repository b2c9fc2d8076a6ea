"""Builds authentication: the token service, and the citizens' sign-in through their issuer.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete replay cache (``hub/persistence/replay.py``) and the OIDC client
(``adapters/oidc.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.oidc import JwksKeys, OidcClient, OidcDiscovery
from hub.auth.agency_keys import AgencyKeyRing
from hub.auth.service import TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.errors import ConfigError
from hub.persistence.replay import SqlReplayCache

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.auth.ports import CitizenSignIn
    from hub.catalog.files import LoadedCatalog
    from hub.config import Settings
    from hub.domain.sealing.keystore import KeyStore
    from hub.persistence.db import Database

__all__ = ["build_citizen_issuer", "build_token_service"]


def build_citizen_issuer(
    settings: Settings,
) -> tuple[dict[str, Any], CitizenSignIn | None]:
    """TokenService's citizen arguments and the web sign-in, for ``HUB_CITIZEN_ISSUER``.

    Without an issuer both are empty: the hub's development issuer, as before.
    """
    issuer = settings.citizen_issuer
    if issuer is None:
        return {}, None
    discovery = OidcDiscovery(issuer)
    jwks = JwksKeys(
        settings.citizen_jwks_url or discovery.jwks_uri, algorithms=settings.citizen_algorithms
    )
    audience = settings.citizen_audience or settings.citizen_client_id
    if audience is None:
        raise ConfigError("HUB_CITIZEN_ISSUER needs HUB_CITIZEN_CLIENT_ID or HUB_CITIZEN_AUDIENCE")
    arguments: dict[str, Any] = {
        "citizen_issuer": issuer,
        "citizen_keys": jwks,
        "citizen_audience": audience,
        "citizen_algorithms": settings.citizen_algorithms,
        "afm_claim": settings.citizen_afm_claim,
    }
    signin: CitizenSignIn | None = None
    if settings.citizen_client_id and settings.citizen_client_secret:
        signin = OidcClient(
            discovery,
            client_id=settings.citizen_client_id,
            client_secret=settings.citizen_client_secret,
            redirect_uri=settings.public_url + "/signin/callback",
            scopes=settings.citizen_scopes,
        )
    return arguments, signin


def build_token_service(
    settings: Settings,
    keystore: KeyStore,
    *,
    loaded: LoadedCatalog,
    db: Database,
    citizen: Mapping[str, Any],
) -> TokenService:
    """Tokens signed with the TOKEN key; ``citizen``: :func:`build_citizen_issuer`'s arguments."""
    return TokenService(
        issuer=settings.public_url,
        token_endpoint=settings.public_url + "/oauth2/token",
        agency_keys=AgencyKeyRing(
            loaded.holder, settings.keys_dir, allow_development=not settings.is_production
        ),
        agency_purposes=loaded.holder.purposes_of,
        keys=KeyStoreTokenKeys(keystore),
        replay=SqlReplayCache(db),
        ttl=settings.access_token_ttl,
        **citizen,
    )
