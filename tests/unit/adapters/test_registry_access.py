"""What the catalogue may say about a registry's access, and the settings that hold its secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings
from hub.domain.catalog import _registry
from hub.errors import ConfigError

BASE = {"name": "R", "endpoint": "http://127.0.0.1:1/", "description": "r.yaml"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"protocol": "rest", "auth": {"kind": "username_token"}, "credentials": "r"}, "auth.kind"),
        ({"protocol": "soap", "auth": {"kind": "api_key"}, "credentials": "r"}, "auth.kind"),
        ({"protocol": "rest", "auth": {"kind": "kerberos"}, "credentials": "r"}, "auth.kind"),
        ({"protocol": "rest", "auth": {"kind": "basic"}}, "credentials name"),
        ({"protocol": "soap", "binding": "soap13"}, "binding"),
        ({"protocol": "rest", "binding": "soap12"}, "binding"),
        ({"protocol": "rest", "mutual_tls": "yes", "credentials": "r"}, "mutual_tls"),
        ({"protocol": "rest", "mutual_tls": True}, "credentials name"),
        ({"protocol": "rest", "operations": {"Op": "GET /x"}}, "operations"),
    ],
)
def test_bad_access_in_the_catalogue_is_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _registry("r", {**BASE, **entry})


def test_a_soap_registry_with_credentials_and_no_auth_wants_a_username_token() -> None:
    spec = _registry("r", {**BASE, "protocol": "soap", "credentials": "r"})
    assert spec.auth == {"kind": "username_token"}
    assert _registry("r", {**BASE, "protocol": "rest"}).auth == {"kind": "none"}


def test_full_access_is_kept() -> None:
    spec = _registry(
        "edu",
        {
            **BASE,
            "protocol": "soap",
            "binding": "soap12",
            "credentials": "edu",
            "auth": {"kind": "username_token", "digest": True},
            "mutual_tls": True,
        },
    )
    assert (spec.binding, spec.mutual_tls, spec.auth["digest"]) == ("soap12", True, True)


def test_secrets_and_files_are_read_by_credentials_name(tmp_path: Path) -> None:
    files = {
        kind: tmp_path / f"{kind}.pem" for kind in ("cert", "key", "ca", "sign", "sigc", "reg")
    }
    for path in files.values():
        path.write_text("x", encoding="ascii")
    settings = Settings.from_env(
        {
            "HUB_REGISTRY_SECRET_LAND_API": " k-123 ",
            "HUB_REGISTRY_CREDENTIALS_LAND_OAUTH": "client:se:cret",
            "HUB_REGISTRY_CLIENT_CERT_EDU": str(files["cert"]),
            "HUB_REGISTRY_CLIENT_KEY_EDU": str(files["key"]),
            "HUB_REGISTRY_CA_FILE_EDU": str(files["ca"]),
            "HUB_REGISTRY_SIGNING_KEY_EDU": str(files["sign"]),
            "HUB_REGISTRY_SIGNING_CERT_EDU": str(files["sigc"]),
            "HUB_REGISTRY_REGISTRY_CERT_EDU": str(files["reg"]),
        }
    )
    assert settings.registry_secrets == {"land-api": "k-123"}
    assert settings.registry_credentials == {"land-oauth": ("client", "se:cret")}
    assert settings.registry_files == {
        "edu": {
            "client_cert": files["cert"],
            "client_key": files["key"],
            "ca_file": files["ca"],
            "signing_key": files["sign"],
            "signing_cert": files["sigc"],
            "registry_cert": files["reg"],
        }
    }
    # Secrets never show in a printed Settings.
    assert "k-123" not in repr(settings)
    assert "se:cret" not in repr(settings)


def test_a_named_file_that_is_missing_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_REGISTRY_CLIENT_KEY_EDU"):
        Settings.from_env({"HUB_REGISTRY_CLIENT_KEY_EDU": str(tmp_path / "none.key")})
