"""Certificate types come from the catalogue: a new one is added by files only."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.app import build_services, create_app, reload_catalog
from hub.catalog.files import load_catalog
from hub.config import Settings
from hub.errors import ConfigError
from hub.persistence import migrate
from tests.common.pdf import needs_pdftotext, pdf_text
from tests.common.server import free_port, serve
from tests.integration.certificates.test_cert_http import citizen_token

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"


def test_the_shipped_certificate_types_are_the_catalogues() -> None:
    catalog = load_catalog(ROOT / "specs" / "catalog").catalog
    assert set(catalog.certificate_types) == {
        "birth-certificate",
        "family-status",
        "property-ownership",
        "insurance-status",
    }
    assert catalog.certificate_types["insurance-status"].valid_for_days == 30


def test_a_certificate_of_an_unknown_evidence_type_is_refused(tmp_path: Path) -> None:
    extension = tmp_path / "ext"
    shutil.copytree(FIXTURES / "certificate_extension", extension)
    # Without the evidence type it draws on, the certificate names nothing.
    with pytest.raises(ConfigError, match="certificate identity-summary: unknown evidence type"):
        load_catalog(ROOT / "specs" / "catalog", [extension])


@pytest.fixture
def hub_with_specs(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path, Any]]:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", specs)
    port = free_port()
    settings = replace(settings, specs_dir=specs, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield url, specs, services
    services.close()


@needs_pdftotext
def test_an_evidence_type_becomes_a_certificate_by_files_only(
    hub_with_specs: tuple[str, Path, Any],
    keys_dir: Path,
    citizens: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    url, specs, services = hub_with_specs
    holder = next(c for c in citizens if not c.get("deceased"))
    token = citizen_token(url, keys_dir, holder)

    def issue() -> requests.Response:
        return requests.post(
            f"{url}/v1/me/certificates",
            json={"type": "identity-summary"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    refused = issue()
    assert refused.status_code == 400
    assert "birth-certificate" in refused.json()["detail"]
    # Files only: the evidence type and its certificate entry, then a reload.
    for path in (FIXTURES / "catalog_extension" / "evidence").iterdir():
        shutil.copy(path, specs / "catalog" / "evidence" / path.name)
    certificates = specs / "catalog" / "certificates.yaml"
    extra = (FIXTURES / "certificate_extension" / "certificates.yaml").read_text()
    certificates.write_text(
        certificates.read_text() + extra.split("certificates:\n", 1)[1], encoding="utf-8"
    )
    reload_catalog(services)
    listed = requests.get(f"{url}/v1/catalog/evidence-types", timeout=10).json()
    entry = next(c for c in listed["certificate_types"] if c["id"] == "identity-summary")
    assert [f["name"] for f in entry["fields"]] == ["given_name_latin", "surname_latin", "alive"]
    issued = issue()
    assert issued.status_code == 201, issued.text
    text = pdf_text(issued.content, tmp_path / "identity.pdf")
    assert "Βεβαίωση στοιχείων ταυτότητας" in text
    assert "Identity details certificate" in text
    assert "Alive at issue" in text
    assert "Valid until" in text
    # Only the listed fields are printed: the age the evidence type defines is not.
    assert "Age" not in text
