"""Reads the catalogues from ``specs/catalog`` into a :class:`Catalog`.

Layout::

    registries.yaml        registries, and where identities are resolved
    agencies.yaml          agencies and their public keys
    purposes.yaml          purposes, legal bases, allowed agencies and fields
    vocabulary.yaml        the words people read for codes: actions, outcomes, reasons, ...
    evidence/<id>.yaml     an evidence type: titles, sources, field mapping
    evidence/<id>.schema.json   its JSON Schema (draft 2020-12)

Extra catalogue directories (``extra_dirs``, from ``HUB_CATALOG_DIRS``) are
merged in, later ones over earlier ones, entry by entry, so an operator adds a
registry, an evidence type or a purpose by dropping files, not by changing
code. An extra directory may carry its registries' descriptions (WSDL,
OpenAPI) beside its ``registries.yaml`` or in a ``registries/`` folder; a
description it does not carry is looked up in ``specs/registries``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hub.config import Settings
from hub.domain.catalog import Catalog
from hub.domain.evidence import IdentityLookup
from hub.errors import ConfigError

__all__ = ["LoadedCatalog", "load_catalog", "load_configured_catalog"]


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read catalogue file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"catalogue file {path} must hold a mapping")
    return data


class LoadedCatalog:
    """The catalogue plus where the hub resolves identities."""

    def __init__(self, catalog: Catalog, identity: IdentityLookup) -> None:
        self.catalog = catalog
        self.identity = identity


def load_catalog(directory: Path, extra_dirs: Iterable[Path] = ()) -> LoadedCatalog:
    registries: dict[str, Any] = {}
    agencies: dict[str, Any] = {}
    purposes: dict[str, Any] = {}
    evidence: dict[str, dict[str, Any]] = {}
    identity: dict[str, Any] = {}
    vocabulary: dict[str, dict[str, Any]] = {}
    for folder in (directory, *extra_dirs):
        if (folder / "registries.yaml").exists():
            doc = _yaml(folder / "registries.yaml")
            found = doc.get("registries", {})
            if not isinstance(found, dict):
                raise ConfigError(f"{folder / 'registries.yaml'}: registries must be a mapping")
            for rid, entry in found.items():
                registries[rid] = _own_description(folder, entry) if folder != directory else entry
            identity.update(doc.get("identity", {}))
        if (folder / "agencies.yaml").exists():
            agencies.update(_yaml(folder / "agencies.yaml").get("agencies", {}))
        if (folder / "purposes.yaml").exists():
            purposes.update(_yaml(folder / "purposes.yaml").get("purposes", {}))
        if (folder / "vocabulary.yaml").exists():
            for section, words in _yaml(folder / "vocabulary.yaml").items():
                vocabulary.setdefault(str(section), {}).update(words or {})
        for path in sorted((folder / "evidence").glob("*.yaml")):
            evidence[path.stem] = _evidence(path)
    if not identity:
        raise ConfigError("registries.yaml must say where identities are resolved (identity:)")
    missing = [key for key in ("registry", "operation", "afm", "amka") if key not in identity]
    if missing:
        raise ConfigError(f"registries.yaml: identity lacks {', '.join(missing)}")
    catalog = Catalog.from_documents(
        registries=registries,
        evidence_types=evidence,
        agencies=agencies,
        purposes=purposes,
        vocabulary=vocabulary,
    )
    lookup = IdentityLookup(
        registry=str(identity["registry"]),
        operation=str(identity["operation"]),
        afm_path=str(identity["afm"]),
        amka_path=str(identity["amka"]),
    )
    if lookup.registry not in catalog.registries:
        raise ConfigError(f"identity registry {lookup.registry} is not in the catalogue")
    return LoadedCatalog(catalog, lookup)


def load_configured_catalog(settings: Settings) -> LoadedCatalog:
    """``specs/catalog`` with the directories of ``HUB_CATALOG_DIRS`` merged over it."""
    return load_catalog(settings.catalog_dir, settings.catalog_dirs)


def _own_description(folder: Path, entry: Any) -> Any:
    """The entry with its description made absolute when ``folder`` carries it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("description"), str):
        return entry
    name = entry["description"]
    for candidate in (folder / "registries" / name, folder / name):
        if candidate.is_file():
            return {**entry, "description": str(candidate.resolve())}
    return entry


def _evidence(path: Path) -> dict[str, Any]:
    doc = _yaml(path)
    schema_path = path.with_name(f"{path.stem}.schema.json")
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"evidence type {path.stem}: cannot read {schema_path.name}") from exc
    except SchemaError as exc:
        raise ConfigError(f"evidence type {path.stem}: invalid JSON Schema: {exc.message}") from exc
    doc["schema"] = schema
    return doc
