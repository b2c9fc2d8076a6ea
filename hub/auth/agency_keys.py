"""Agencies' public keys: from the catalogue's JWKS, or development keys on disk.

A real agency registers its public keys (a JWKS) in ``agencies.yaml``. For the
sandbox, ``hub keys init`` writes a private key per development agency to
``HUB_KEYS_DIR/agencies/<id>.pem`` (mode 0600) so an integrator can sign client
assertions at once; the hub reads only the public half. Development keys are
refused in production.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.domain.catalog import Agency, Catalog, CatalogView, in_force
from hub.domain.encoding import b64url
from hub.errors import ConfigError

__all__ = [
    "AgencyKeyRing",
    "agency_key_path",
    "ensure_development_keys",
    "load_agency_private_key",
]


def agency_key_path(keys_dir: Path, agency_id: str) -> Path:
    return keys_dir / "agencies" / f"{agency_id}.pem"


def _kid(public: ec.EllipticCurvePublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b64url(hashlib.sha256(der).digest()[:12])


def ensure_development_keys(keys_dir: Path, catalog: Catalog) -> list[str]:
    """Create the missing development agency keys; return the ids created."""
    created = []
    for agency in catalog.agencies.values():
        if not agency.development_key:
            continue
        path = agency_key_path(keys_dir, agency.id)
        if path.exists():
            continue
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        created.append(agency.id)
    return created


def load_agency_private_key(keys_dir: Path, agency_id: str) -> tuple[str, Any]:
    """(kid, private key) of a development agency, for `hub token agency`."""
    path = agency_key_path(keys_dir, agency_id)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"no development key for agency {agency_id}; run 'hub keys init'"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"the development key of {agency_id} is not an EC key")
    return _kid(key.public_key()), key


class AgencyKeyRing:
    """Looks up an agency's public keys by kid, as :data:`hub.auth.service.AgencyKeys`."""

    def __init__(self, catalog: CatalogView, keys_dir: Path, *, allow_development: bool) -> None:
        self._catalog = catalog
        self._keys_dir = keys_dir
        self._allow_development = allow_development
        # Read at start-up, so that a bad key stops the hub before it serves.
        current = in_force(catalog)
        self._built: tuple[Catalog, dict[str, dict[str, Any]]] = (current, self.read(current))

    def read(self, catalog: Catalog) -> dict[str, dict[str, Any]]:
        """Every agency's public keys in ``catalog``; ConfigError for a key that does not parse.

        ``hub.app.reload_catalog`` calls it on a new catalogue before putting
        it in force, so a reload with a bad key is refused as a whole.
        """
        return {
            agency.id: self._load(agency, self._keys_dir, self._allow_development)
            for agency in catalog.agencies.values()
        }

    @staticmethod
    def _load(agency: Agency, keys_dir: Path, allow_development: bool) -> dict[str, Any]:
        keys: dict[str, Any] = {}
        if agency.jwks:
            for jwk in agency.jwks.get("keys", []):
                try:
                    parsed = jwt.PyJWK.from_json(json.dumps(jwk))
                except jwt.PyJWTError as exc:
                    raise ConfigError(f"agency {agency.id}: a JWKS key is invalid") from exc
                keys[str(jwk.get("kid") or _jwk_kid(jwk))] = parsed.key
        if agency.development_key and allow_development:
            path = agency_key_path(keys_dir, agency.id)
            if path.exists():
                kid, private = load_agency_private_key(keys_dir, agency.id)
                keys[kid] = private.public_key()
        return keys

    def __call__(self, agency_id: str) -> Mapping[str, Any]:
        current = in_force(self._catalog)
        built, keys = self._built
        if built is not current:
            # A reload put another catalogue in force: its agencies and keys.
            keys = self.read(current)
            self._built = (current, keys)
        return keys.get(agency_id, {})


def _jwk_kid(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint, for JWKs registered without a kid."""
    members = {k: jwk[k] for k in ("crv", "kty", "x", "y") if k in jwk}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())
