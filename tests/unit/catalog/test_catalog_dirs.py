"""``HUB_CATALOG_DIRS`` merges catalogue directories over ``specs/catalog``.

An operator onboards a registry, an evidence type or a purpose by dropping
files in a directory named there; the registry's own description may travel
with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from hub.catalog.files import load_configured_catalog
from hub.config import Settings
from hub.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_the_directories_are_read_from_the_environment(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    settings = Settings.from_env({"HUB_CATALOG_DIRS": f"{first}{os.pathsep} {second} "})
    assert settings.catalog_dirs == (first, second)
    assert Settings.from_env({}).catalog_dirs == ()


def test_a_missing_directory_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_CATALOG_DIRS"):
        Settings.from_env({"HUB_CATALOG_DIRS": str(tmp_path / "nowhere")})


def test_an_extension_adds_evidence_types_and_purposes() -> None:
    settings = Settings.from_env({"HUB_CATALOG_DIRS": str(FIXTURES / "catalog_extension")})
    catalog = load_configured_catalog(settings).catalog
    assert "identity-summary" in catalog.evidence_types
    assert "travel-document-check" in catalog.purposes
    # What the base catalogue holds is still there.
    assert "birth-certificate" in catalog.evidence_types
    base = load_configured_catalog(Settings.from_env({})).catalog
    assert "identity-summary" not in base.evidence_types


def test_a_registry_description_travels_with_its_directory(tmp_path: Path) -> None:
    extension = tmp_path / "ext"
    (extension / "registries").mkdir(parents=True)
    wsdl = extension / "registries" / "copy.wsdl"
    wsdl.write_text("<definitions/>", encoding="utf-8")
    entry = {"name": "A copy", "protocol": "soap", "endpoint": "http://127.0.0.1:1/"}
    (extension / "registries.yaml").write_text(
        yaml.safe_dump(
            {
                "registries": {
                    "copy": {**entry, "description": "copy.wsdl"},
                    "shared": {**entry, "description": "population.wsdl"},
                }
            }
        ),
        encoding="utf-8",
    )
    settings = Settings.from_env({"HUB_CATALOG_DIRS": str(extension)})
    registries = load_configured_catalog(settings).catalog.registries
    assert Path(registries["copy"].description) == wsdl.resolve()
    # Not carried: looked up beside the base catalogue, in specs/registries.
    assert registries["shared"].description == "population.wsdl"
    assert (settings.registries_dir / registries["shared"].description).is_file()
    assert (settings.registries_dir / registries["copy"].description) == wsdl.resolve()
