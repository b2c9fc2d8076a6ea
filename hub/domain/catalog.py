"""The catalogues: registries, evidence types, agencies and purposes.

They are configuration (YAML under ``specs/catalog``), parsed once at start-up
into these frozen objects. Adding a registry or an evidence type is a new
entry plus a field mapping, never a new code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.domain.mapping import check_rules
from hub.errors import ConfigError

__all__ = [
    "Agency",
    "Catalog",
    "EvidenceType",
    "Labels",
    "Purpose",
    "RegistrySpec",
    "Source",
]

Protocol = Literal["soap", "rest"]
#: A text people read, in Greek and in English.
Labels = tuple[str, str]
IdentifierKind = Literal["afm", "amka"]


@dataclass(frozen=True, slots=True)
class RegistrySpec:
    """An authoritative registry and how to reach it."""

    id: str
    name: str
    protocol: Protocol
    endpoint: str
    description: str
    credentials: str | None = None
    timeout: float | None = None
    retries: int = 2
    max_concurrency: int = 32
    operations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Source:
    """One registry call that feeds an evidence type: its answer is ``as``."""

    name: str
    registry: str
    operation: str
    identifier: IdentifierKind
    optional: bool = False


@dataclass(frozen=True, slots=True)
class EvidenceType:
    id: str
    title_el: str
    title_en: str
    schema: Mapping[str, Any]
    sources: tuple[Source, ...]
    mapping: Mapping[str, Any]
    labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: Field name -> code -> its words, for fields whose values are codes (sex: M).
    values: Mapping[str, Mapping[str, Labels]] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema.get("properties", {}))


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    kind: str
    jwks: Mapping[str, Any] | None = None
    development_key: bool = False
    #: The agency's name as people read it; ``name`` stays the API's text.
    labels: Labels | None = None


@dataclass(frozen=True, slots=True)
class Purpose:
    id: str
    description: str
    legal_basis: str | None
    consent_required: bool
    agencies: tuple[str, ...]
    evidence: Mapping[str, tuple[str, ...]]
    hidden_until: str | None = None
    #: What the purpose is for, as people read it.
    labels: Labels | None = None
    #: The legal basis as people read it (the law's reference in each language).
    legal_basis_labels: Labels | None = None

    def allows_agency(self, agency_id: str) -> bool:
        return agency_id in self.agencies

    def allowed_fields(self, evidence_type: str) -> tuple[str, ...] | None:
        return self.evidence.get(evidence_type)


def _need(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: '{key}' is required")
    return data[key]


@dataclass(frozen=True, slots=True)
class Catalog:
    registries: Mapping[str, RegistrySpec]
    evidence_types: Mapping[str, EvidenceType]
    agencies: Mapping[str, Agency]
    purposes: Mapping[str, Purpose]
    #: Section (actions, outcomes, reasons, ...) -> code -> its words.
    vocabulary: Mapping[str, Mapping[str, Labels]] = field(default_factory=dict)

    def purposes_of(self, agency_id: str) -> tuple[str, ...]:
        return tuple(p.id for p in self.purposes.values() if p.allows_agency(agency_id))

    @classmethod
    def from_documents(
        cls,
        *,
        registries: Mapping[str, Any],
        evidence_types: Mapping[str, Mapping[str, Any]],
        agencies: Mapping[str, Any],
        purposes: Mapping[str, Any],
        vocabulary: Mapping[str, Any] | None = None,
    ) -> Catalog:
        """Build and cross-check a catalogue from parsed YAML documents."""
        regs = {rid: _registry(rid, r) for rid, r in registries.items()}
        types = {tid: _evidence_type(tid, t, regs) for tid, t in evidence_types.items()}
        ags = {
            aid: Agency(
                id=aid,
                name=str(_need(a, "name", f"agency {aid}")),
                kind=str(_need(a, "kind", f"agency {aid}")),
                jwks=a.get("jwks"),
                development_key=bool(a.get("development_key", False)),
                labels=_optional_labels(a.get("labels"), f"agency {aid}"),
            )
            for aid, a in agencies.items()
        }
        purps = {pid: _purpose(pid, p, types, ags) for pid, p in purposes.items()}
        words = {
            section: {
                str(code): _labels(text, f"vocabulary {section}.{code}")
                for code, text in (entries or {}).items()
            }
            for section, entries in (vocabulary or {}).items()
        }
        return cls(
            registries=regs, evidence_types=types, agencies=ags, purposes=purps, vocabulary=words
        )


def _labels(value: Any, where: str) -> Labels:
    """Greek and English words, written ``{el: …, en: …}`` or ``[el, en]``."""
    if isinstance(value, Mapping) and {"el", "en"} <= set(value):
        return str(value["el"]), str(value["en"])
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[0]), str(value[1])
    raise ConfigError(f"{where}: labels must be {{el: …, en: …}} or [el, en]")


def _optional_labels(value: Any, where: str) -> Labels | None:
    return None if value is None else _labels(value, where)


def _registry(rid: str, r: Mapping[str, Any]) -> RegistrySpec:
    where = f"registry {rid}"
    protocol = _need(r, "protocol", where)
    if protocol not in ("soap", "rest"):
        raise ConfigError(f"{where}: protocol must be soap or rest")
    return RegistrySpec(
        id=rid,
        name=str(_need(r, "name", where)),
        protocol=protocol,
        endpoint=str(_need(r, "endpoint", where)),
        description=str(_need(r, "description", where)),
        credentials=r.get("credentials"),
        timeout=r.get("timeout"),
        retries=int(r.get("retries", 2)),
        max_concurrency=int(r.get("max_concurrency", 32)),
        operations=r.get("operations", {}),
    )


def _evidence_type(
    tid: str, t: Mapping[str, Any], regs: Mapping[str, RegistrySpec]
) -> EvidenceType:
    where = f"evidence type {tid}"
    sources = tuple(
        Source(
            name=str(_need(s, "as", where)),
            registry=str(_need(s, "registry", where)),
            operation=str(_need(s, "operation", where)),
            identifier=_need(s, "identifier", where),
            optional=bool(s.get("optional", False)),
        )
        for s in _need(t, "sources", where)
    )
    for source in sources:
        if source.registry not in regs:
            raise ConfigError(f"{where}: unknown registry {source.registry}")
        if source.identifier not in ("afm", "amka"):
            raise ConfigError(f"{where}: identifier must be afm or amka")
    schema = _need(t, "schema", where)
    mapping = _need(t, "mapping", where)
    check_rules(mapping)
    missing = set(schema.get("properties", {})) - set(mapping)
    if missing:
        raise ConfigError(f"{where}: no mapping for {', '.join(sorted(missing))}")
    return EvidenceType(
        id=tid,
        title_el=str(_need(t, "title_el", where)),
        title_en=str(_need(t, "title_en", where)),
        schema=schema,
        sources=sources,
        mapping=mapping,
        labels={k: _labels(v, f"{where} label {k}") for k, v in t.get("labels", {}).items()},
        values={
            name: {
                str(code): _labels(v, f"{where} value {name}.{code}") for code, v in codes.items()
            }
            for name, codes in (t.get("values") or {}).items()
        },
    )


def _purpose(
    pid: str,
    p: Mapping[str, Any],
    types: Mapping[str, EvidenceType],
    agencies: Mapping[str, Agency],
) -> Purpose:
    where = f"purpose {pid}"
    legal_basis = p.get("legal_basis")
    consent = bool(p.get("consent_required", False))
    if bool(legal_basis) == consent:
        raise ConfigError(f"{where}: give either a legal_basis or consent_required")
    evidence = {et: tuple(fields) for et, fields in _need(p, "evidence", where).items()}
    for et, fields in evidence.items():
        if et not in types:
            raise ConfigError(f"{where}: unknown evidence type {et}")
        unknown = set(fields) - set(types[et].fields)
        if unknown:
            raise ConfigError(f"{where}: {et} has no fields {', '.join(sorted(unknown))}")
    for agency in p.get("agencies", []):
        if agency not in agencies:
            raise ConfigError(f"{where}: unknown agency {agency}")
    return Purpose(
        id=pid,
        description=str(_need(p, "description", where)),
        legal_basis=legal_basis,
        consent_required=consent,
        agencies=tuple(p.get("agencies", [])),
        evidence=evidence,
        hidden_until=p.get("hidden_until"),
        labels=_optional_labels(p.get("labels"), where),
        legal_basis_labels=_optional_labels(p.get("legal_basis_labels"), where),
    )
