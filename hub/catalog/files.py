"""Reads the catalogues from ``specs/catalog`` into a :class:`Catalog`.

Layout::

    registries.yaml        registries, and where identities are resolved
    identifiers.yaml       identifier kinds besides AFM and AMKA, their checks, their resolution
    certificates.yaml      the certificates citizens may ask for: titles, evidence, fields, validity
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

Every file read is remembered with the line of each entry (YAML is composed
into nodes first, which keep their marks), so that an error can name the
file and line an operator must edit, and the files' bytes are digested into
the catalogue's version, which every access-log entry records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from hub.config import Settings
from hub.domain.catalog import Catalog, CatalogHolder
from hub.domain.schemas import SchemaCheck
from hub.errors import ConfigError
from hub.evidence.models import IdentityLookup

__all__ = [
    "CatalogDocuments",
    "LoadedCatalog",
    "Location",
    "load_catalog",
    "load_configured_catalog",
    "read_documents",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where something is written: a file and a line (1-based)."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def _lines(
    node: yaml.Node, path: Path, prefix: tuple[str, ...], out: dict[tuple[str, ...], Location]
) -> None:
    """Record the line of every mapping key under ``node``, by its key path."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                where = (*prefix, str(key.value))
                out.setdefault(where, Location(path, key.start_mark.line + 1))
                _lines(value, path, where, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            where = (*prefix, str(index))
            out.setdefault(where, Location(path, item.start_mark.line + 1))
            _lines(item, path, where, out)


def _yaml(
    path: Path, lines: dict[tuple[str, ...], Location] | None = None, prefix: tuple[str, ...] = ()
) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}{line}: cannot read catalogue file: {exc.problem or exc}"
        ) from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read catalogue file {path}: {exc}") from exc
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a catalogue file must hold a mapping")
    if lines is not None and node is not None:
        _lines(node, path, prefix, lines)
    return data


@dataclass(slots=True)
class CatalogDocuments:
    """The catalogue's files merged, before they are checked: documents, lines, digest."""

    registries: dict[str, Any] = field(default_factory=dict)
    agencies: dict[str, Any] = field(default_factory=dict)
    purposes: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    identifiers: dict[str, Any] = field(default_factory=dict)
    certificates: dict[str, Any] = field(default_factory=dict)
    vocabulary: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (document, key, ...) -> where it is written; the later directory wins.
    lines: dict[tuple[str, ...], Location] = field(default_factory=dict)
    #: The directory each registry's entry came from (its WSDL or OpenAPI sits beside it).
    registry_dirs: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def where(self, *key: str) -> Location | None:
        """The deepest recorded location along ``key``."""
        for end in range(len(key), 0, -1):
            found = self.lines.get(key[:end])
            if found is not None:
                return found
        return None

    def version(self) -> str:
        """SHA-256 over every file's name and bytes, in reading order."""
        digest = hashlib.sha256()
        for path in self.files:
            data = path.read_bytes()
            digest.update(f"{path.name}\0{len(data)}\0".encode())
            digest.update(data)
        return "sha256:" + digest.hexdigest()


def read_documents(directory: Path, extra_dirs: Iterable[Path] = ()) -> CatalogDocuments:
    """Read and merge the catalogue files of ``directory`` and then each of ``extra_dirs``."""
    docs = CatalogDocuments()
    for folder in (directory, *extra_dirs):
        if not folder.is_dir():
            raise ConfigError(f"{folder}: no such catalogue directory")
        path = folder / "registries.yaml"
        if path.exists():
            lines: dict[tuple[str, ...], Location] = {}
            doc = _yaml(path, lines)
            docs.files.append(path)
            found = doc.get("registries") or {}
            if not isinstance(found, dict):
                raise ConfigError(f"{path}:1: registries must be a mapping")
            for rid, entry in found.items():
                docs.registry_dirs[str(rid)] = folder
                docs.registries[rid] = (
                    _own_description(folder, entry) if folder != directory else entry
                )
            docs.identity.update(doc.get("identity") or {})
            docs.lines.update(
                {("registry", *k[1:]) if k[0] == "registries" else k: v for k, v in lines.items()}
            )
        for name, kind in (
            ("agencies", "agency"),
            ("purposes", "purpose"),
            ("identifiers", "identifier"),
            ("certificates", "certificate"),
        ):
            path = folder / f"{name}.yaml"
            if path.exists():
                lines = {}
                doc = _yaml(path, lines)
                docs.files.append(path)
                getattr(docs, name).update(doc.get(name) or {})
                docs.lines.update({(kind, *k[1:]): v for k, v in lines.items() if k[0] == name})
        if (folder / "vocabulary.yaml").exists():
            docs.files.append(folder / "vocabulary.yaml")
            for section, words in _yaml(folder / "vocabulary.yaml").items():
                docs.vocabulary.setdefault(str(section), {}).update(words or {})
        for path in sorted((folder / "evidence").glob("*.yaml")):
            lines = {}
            docs.evidence[path.stem] = _evidence(path, lines)
            docs.files.extend([path, path.with_name(f"{path.stem}.schema.json")])
            docs.lines.update({("evidence type", path.stem, *k): v for k, v in lines.items()})
            docs.lines[("evidence type", path.stem)] = Location(path, 1)
    return docs


class LoadedCatalog:
    """The catalogue in force (through its holder) plus where the hub resolves identities."""

    def __init__(self, catalog: Catalog, identity: IdentityLookup) -> None:
        self.holder = CatalogHolder(catalog)
        self.identity = identity

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force now; read it again for the next use."""
        return self.holder.current


def load_catalog(directory: Path, extra_dirs: Iterable[Path] = ()) -> LoadedCatalog:
    docs = read_documents(directory, extra_dirs)
    catalog, lookup = build(docs)
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


def build(docs: CatalogDocuments) -> tuple[Catalog, IdentityLookup]:
    """The catalogue the documents describe, or the first :class:`ConfigError`."""
    identity, registries, agencies = docs.identity, docs.registries, docs.agencies
    purposes, evidence, vocabulary = docs.purposes, docs.evidence, docs.vocabulary
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
        version=docs.version(),
        identifiers=docs.identifiers,
        certificates=docs.certificates,
    )
    lookup = IdentityLookup(
        registry=str(identity["registry"]),
        operation=str(identity["operation"]),
        afm_path=str(identity["afm"]),
        amka_path=str(identity["amka"]),
    )
    if lookup.registry not in catalog.registries:
        raise ConfigError(f"identity registry {lookup.registry} is not in the catalogue")
    return catalog, lookup


def _evidence(path: Path, lines: dict[tuple[str, ...], Location] | None = None) -> dict[str, Any]:
    doc = _yaml(path, lines)
    schema_path = path.with_name(f"{path.stem}.schema.json")
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{schema_path}:1: evidence type {path.stem}: cannot read {schema_path.name}"
        ) from exc
    except SchemaError as exc:
        raise ConfigError(
            f"{schema_path}:1: evidence type {path.stem}: invalid JSON Schema: {exc.message}"
        ) from exc
    # The hub checks answers with jsonschema-rs (hub.domain.schemas): a pattern
    # that is not ECMA-262, or a "$ref" to another server, is refused here.
    refused = SchemaCheck(schema, formats=False).native_error
    if refused is not None:
        raise ConfigError(
            f"{schema_path}:1: evidence type {path.stem}: schema not usable: {refused}"
        )
    doc["schema"] = schema
    return doc
