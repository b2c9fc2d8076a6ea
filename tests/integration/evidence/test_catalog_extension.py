"""A new evidence type is configuration plus a mapping: no code changes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hub.app import build_services, create_app
from hub.config import Settings
from hub.persistence import migrate
from tests.common.clients import agency_token, post_evidence
from tests.common.server import free_port, serve

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "catalog_extension"


@pytest.fixture
def extended_hub(settings: Settings, tmp_path: Path) -> Iterator[str]:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    for path in (FIXTURE / "evidence").iterdir():
        shutil.copy(path, specs / "catalog" / "evidence" / path.name)
    purposes = (specs / "catalog" / "purposes.yaml").read_text()
    extra = (FIXTURE / "purposes.yaml").read_text().split("purposes:\n", 1)[1]
    (specs / "catalog" / "purposes.yaml").write_text(purposes + extra)
    port = free_port()
    settings = replace(settings, specs_dir=specs, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield url
    services.close()


def test_evidence_type_added_from_a_fixture_is_served(
    extended_hub: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    citizen = next(c for c in citizens if not c["deceased"])
    token = agency_token(extended_hub, keys_dir, "municipality-athens")
    response = post_evidence(
        extended_hub,
        token,
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "identity-summary",
            "purpose": "travel-document-check",
        },
    )
    assert response.status_code == 200, response.text
    evidence = response.json()["evidence"]
    # The source is keyed by AMKA, so the hub resolved the AFM through the
    # identity registry first; `age` is defined but not allowed, so it is absent.
    assert evidence == {
        "given_name_latin": citizen["name_latin"].split()[0],
        "surname_latin": citizen["name_latin"].split()[-1],
        "alive": True,
    }
