"""Fixtures of the security suite: real tokens of every kind for a running hub.

Agency tokens are obtained as an agency obtains them, over HTTP with a client
assertion signed by its development key. Citizen and auditor tokens come from
the hub's own token service (the development identity issuer and the auditor
issuer), built from the same settings and keys as the hub under test, so the
hub accepts them exactly as it accepts the CLI's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hub.app import build_services
from hub.config import Settings
from tests.common.clients import agency_token

#: The sandbox citizen whose tokens the suite uses (any index works).
CITIZEN_INDEX = 7


@dataclass(frozen=True, slots=True)
class Tokens:
    """One valid bearer token per security scheme of the spec."""

    agency: str
    citizen: str
    auditor: str
    citizen_afm: str

    def for_scheme(self) -> dict[str, str]:
        """By the names of ``components.securitySchemes`` in ``specs/hub.yaml``."""
        return {
            "agencyToken": self.agency,
            "citizenToken": self.citizen,
            "auditorToken": self.auditor,
        }


def hub_settings(settings: Settings, hub_url: str) -> Settings:
    """The settings the ``hub_url`` hub runs with (its issuer is its public URL)."""
    port = urlsplit(hub_url).port
    assert port is not None
    return replace(settings, port=port, public_url=hub_url)


def issue_tokens(settings: Settings, hub_url: str, keys_dir: Path, sandbox: Any) -> Tokens:
    person = sandbox.population.citizen(CITIZEN_INDEX)
    services = build_services(hub_settings(settings, hub_url))
    try:
        citizen = services.tokens.issue_citizen(person.afm, person.amka, person.full_name)
        auditor = services.tokens.issue_auditor("security-suite")
    finally:
        services.close()
    return Tokens(
        agency=agency_token(hub_url, keys_dir, "opeka"),
        citizen=citizen.access_token,
        auditor=auditor.access_token,
        citizen_afm=person.afm,
    )


@pytest.fixture
def tokens(settings: Settings, hub_url: str, keys_dir: Path, sandbox: Any) -> Tokens:
    return issue_tokens(settings, hub_url, keys_dir, sandbox)
