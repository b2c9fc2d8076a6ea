"""The catalogues: registries, evidence types, agencies and purposes.

They are configuration (YAML under ``specs/catalog``), parsed once at start-up
into these frozen objects. Adding a registry or an evidence type is a new
entry plus a field mapping, never a new code path.

A purpose parameter (the municipality of ``owns_property_in_municipality``)
widens what a request can learn, so the catalogue, not the agency, says
where each value may come from: the requesting agency's own registered
``jurisdiction`` (a municipality asks about its own municipality only) or a
closed set of values. A parameter the purpose does not declare, or a value
outside what it allows, is refused (:class:`~hub.errors.ParameterNotAllowed`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.domain.identity import BUILTIN_IDENTIFIERS, IdentifierSpec, Resolution
from hub.domain.mapping import compile_rules, fold
from hub.errors import ConfigError, ParameterNotAllowed

__all__ = [
    "AUTH_KINDS",
    "Agency",
    "Catalog",
    "CatalogHolder",
    "CatalogView",
    "CertificateType",
    "EvidenceType",
    "Labels",
    "ParameterRule",
    "Purpose",
    "RegistrySpec",
    "Source",
]

Protocol = Literal["soap", "rest"]
#: A text people read, in Greek and in English.
Labels = tuple[str, str]
#: An identifier kind: ``afm``, ``amka`` or one ``identifiers.yaml`` declares.
IdentifierKind = str


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
    #: How the hub proves who it is: ``kind`` (one of :data:`AUTH_KINDS`) and
    #: its options; the secrets themselves come from settings named after
    #: ``credentials``, never from the catalogue.
    auth: Mapping[str, Any] = field(default_factory=dict)
    #: SOAP only: ``soap11`` or ``soap12``; None: the WSDL's first port.
    binding: str | None = None
    #: Whether the registry demands a client certificate (mutual TLS).
    mutual_tls: bool = False
    #: The registry's name as people read it, in Greek and English.
    labels: Labels | None = None


#: The ways a registry may want the hub to authenticate.
AUTH_KINDS = (
    "none",
    "basic",
    "api_key",
    "oauth2_client_credentials",
    "username_token",
    "x509_signature",
)
_AUTH_BY_PROTOCOL = {
    "rest": ("none", "basic", "api_key", "oauth2_client_credentials"),
    "soap": ("none", "username_token", "x509_signature"),
}


@dataclass(frozen=True, slots=True)
class Source:
    """One registry call that feeds an evidence type: its answer is ``as``."""

    name: str
    registry: str
    operation: str
    identifier: IdentifierKind
    optional: bool = False
    #: Where the registry's answer says as of when it is true (a dotted path), if it does.
    as_of: str | None = None


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
    #: Field name -> the sources (their ``as`` names) its value is drawn from.
    field_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.schema.get("properties", {}))


@dataclass(frozen=True, slots=True)
class CertificateType:
    """A certificate a citizen may ask for: which evidence, which fields, for how long.

    Declared in ``certificates.yaml``, so an evidence type becomes a
    certificate by configuration. ``holder`` says who may have it issued:
    ``citizen``, the person the evidence is about, signed in (the only kind
    of holder today; the field makes the rule explicit and checked).
    """

    id: str
    title: Labels
    evidence_type: str
    #: The fields printed, in order; empty for every field of the evidence type.
    fields: tuple[str, ...] = ()
    #: Field -> words overriding the evidence type's label on the certificate.
    labels: Mapping[str, Labels] = field(default_factory=dict)
    holder: str = "citizen"
    #: Days the certificate is valid for after issue; None when it does not expire.
    valid_for_days: int | None = None


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    kind: str
    jwks: Mapping[str, Any] | None = None
    development_key: bool = False
    #: The agency's name as people read it; ``name`` stays the API's text.
    labels: Labels | None = None
    #: What the agency answers for, by attribute (``municipality: Αθήνα``).
    jurisdiction: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParameterRule:
    """Where the value of one purpose parameter may come from: exactly one source.

    ``jurisdiction`` names an attribute of the requesting agency's registered
    jurisdiction: the value must be that attribute's (and is taken from it
    when the request leaves it out). ``values`` is a closed set instead.
    Values compare caselessly and without accents, as Greek capitals drop
    them; the catalogue's own spelling is what is used and recorded.
    """

    name: str
    jurisdiction: str | None = None
    values: tuple[str, ...] = ()

    def resolve(self, agency: Agency | None, given: str | None) -> str | None:
        """The value to use, or :class:`ParameterNotAllowed`."""
        if self.jurisdiction is not None:
            allowed = agency.jurisdiction.get(self.jurisdiction) if agency else None
            if allowed is None:
                raise ParameterNotAllowed(
                    f"Parameter {self.name!r} must be the agency's own {self.jurisdiction}, "
                    "and none is registered for it.",
                    parameter=self.name,
                )
            if given is not None and fold(given) != fold(allowed):
                raise ParameterNotAllowed(
                    f"Parameter {self.name!r} may only name the agency's own {self.jurisdiction}.",
                    parameter=self.name,
                )
            return allowed
        if given is None:
            return None
        for value in self.values:
            if fold(given) == fold(value):
                return value
        raise ParameterNotAllowed(
            f"Parameter {self.name!r} takes one of {', '.join(self.values)}.",
            parameter=self.name,
        )


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
    parameters: Mapping[str, ParameterRule] = field(default_factory=dict)

    def allows_agency(self, agency_id: str) -> bool:
        return agency_id in self.agencies

    def resolve_parameters(self, agency: Agency | None, given: Mapping[str, str]) -> dict[str, str]:
        """The parameters a request of ``agency`` runs with, each from where it may come.

        Raises :class:`ParameterNotAllowed` for a parameter the purpose does
        not declare or a value its rule does not allow.
        """
        undeclared = sorted(set(given) - set(self.parameters))
        if undeclared:
            raise ParameterNotAllowed(
                f"Purpose {self.id} takes no parameter {undeclared[0]!r}.",
                parameter=undeclared[0],
            )
        resolved: dict[str, str] = {}
        for name, rule in self.parameters.items():
            value = rule.resolve(agency, given.get(name))
            if value is not None:
                resolved[name] = value
        return resolved

    def allowed_fields(self, evidence_type: str) -> tuple[str, ...] | None:
        return self.evidence.get(evidence_type)


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: an entry is a mapping of keys to values")
    return data


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
    #: A digest of the files it was read from (``sha256:…``); each access-log entry names it.
    version: str = ""
    #: The certificates citizens may ask for, by id (``certificates.yaml``).
    certificate_types: Mapping[str, CertificateType] = field(default_factory=dict)
    #: Every kind of identifier a request may name a citizen by (AFM and AMKA always).
    identifiers: Mapping[str, IdentifierSpec] = field(
        default_factory=lambda: dict(BUILTIN_IDENTIFIERS)
    )

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
        version: str = "",
        identifiers: Mapping[str, Any] | None = None,
        certificates: Mapping[str, Any] | None = None,
    ) -> Catalog:
        """Build and cross-check a catalogue from parsed YAML documents."""
        regs = {rid: _registry(rid, r) for rid, r in registries.items()}
        kinds = _identifiers(identifiers or {}, regs)
        types = {tid: _evidence_type(tid, t, regs, kinds) for tid, t in evidence_types.items()}
        ags = {
            aid: Agency(
                id=aid,
                name=str(_need(a, "name", f"agency {aid}")),
                kind=str(_need(a, "kind", f"agency {aid}")),
                jwks=a.get("jwks"),
                development_key=bool(a.get("development_key", False)),
                labels=_optional_labels(a.get("labels"), f"agency {aid}"),
                jurisdiction=_jurisdiction(aid, a.get("jurisdiction") or {}),
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
            registries=regs,
            evidence_types=types,
            agencies=ags,
            purposes=purps,
            vocabulary=words,
            version=version,
            identifiers=kinds,
            certificate_types={
                cid: _certificate(cid, c, types) for cid, c in (certificates or {}).items()
            },
        )

    @staticmethod
    def problems(
        *,
        registries: Mapping[str, Any],
        evidence_types: Mapping[str, Mapping[str, Any]],
        agencies: Mapping[str, Any],
        purposes: Mapping[str, Any],
        identifiers: Mapping[str, Any] | None = None,
        certificates: Mapping[str, Any] | None = None,
    ) -> list[tuple[str, str, ConfigError]]:
        """Every entry that does not build, as (kind, id, error), each checked on its own.

        :meth:`from_documents` stops at the first error, which is right for
        a hub starting up; an operator checking a catalogue wants them all.
        An entry that refers to a broken one is checked against what did build.
        """
        found: list[tuple[str, str, ConfigError]] = []
        regs: dict[str, RegistrySpec] = {}
        for rid, r in registries.items():
            try:
                regs[rid] = _registry(rid, _mapping(r, f"registry {rid}"))
            except ConfigError as exc:
                found.append(("registry", rid, exc))
        kinds: dict[str, IdentifierSpec] = dict(BUILTIN_IDENTIFIERS)
        for kind, spec in (identifiers or {}).items():
            try:
                kinds.update(_identifiers({kind: spec}, regs))
            except ConfigError as exc:
                found.append(("identifier", str(kind), exc))
        types: dict[str, EvidenceType] = {}
        for tid, t in evidence_types.items():
            try:
                types[tid] = _evidence_type(tid, _mapping(t, f"evidence type {tid}"), regs, kinds)
            except ConfigError as exc:
                found.append(("evidence type", tid, exc))
        ags: dict[str, Agency] = {}
        for aid, a in agencies.items():
            try:
                entry = _mapping(a, f"agency {aid}")
                ags[aid] = Agency(
                    id=aid,
                    name=str(_need(entry, "name", f"agency {aid}")),
                    kind=str(_need(entry, "kind", f"agency {aid}")),
                    jurisdiction=_jurisdiction(aid, entry.get("jurisdiction") or {}),
                )
            except ConfigError as exc:
                found.append(("agency", aid, exc))
        found.extend(_dependent_problems(found, purposes, certificates or {}, types, ags))
        return found


def _dependent_problems(
    found: list[tuple[str, str, ConfigError]],
    purposes: Mapping[str, Any],
    certificates: Mapping[str, Any],
    types: Mapping[str, EvidenceType],
    ags: Mapping[str, Agency],
) -> list[tuple[str, str, ConfigError]]:
    """Problems of the purposes and certificates, not counting what already failed."""
    more: list[tuple[str, str, ConfigError]] = []
    broken = {ident for kind, ident, _ in found if kind in ("evidence type", "agency")}
    for pid, p in purposes.items():
        try:
            entry = dict(_mapping(p, f"purpose {pid}"))
            # An entry that failed is reported once, not again by each purpose naming it.
            if isinstance(entry.get("evidence"), Mapping):
                entry["evidence"] = {k: v for k, v in entry["evidence"].items() if k not in broken}
            if isinstance(entry.get("agencies"), list):
                entry["agencies"] = [a for a in entry["agencies"] if a not in broken]
            _purpose(pid, entry, types, ags)
        except ConfigError as exc:
            more.append(("purpose", pid, exc))
    for cid, c in (certificates or {}).items():
        try:
            certificate = _mapping(c, f"certificate {cid}")
            if certificate.get("evidence") not in broken:
                _certificate(cid, certificate, types)
        except ConfigError as exc:
            more.append(("certificate", cid, exc))
    return more


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
    # A SOAP registry that names credentials and no auth wants a
    # UsernameToken, as before auth: existed.
    implied = "username_token" if protocol == "soap" and r.get("credentials") else "none"
    auth = r.get("auth") or {"kind": implied}
    if not isinstance(auth, Mapping) or auth.get("kind") not in _AUTH_BY_PROTOCOL[protocol]:
        raise ConfigError(
            f"{where}: auth.kind must be one of {', '.join(_AUTH_BY_PROTOCOL[protocol])}"
        )
    if auth["kind"] != "none" and not r.get("credentials"):
        raise ConfigError(f"{where}: auth {auth['kind']} needs a credentials name")
    binding = r.get("binding")
    if binding is not None and (protocol != "soap" or binding not in ("soap11", "soap12")):
        raise ConfigError(f"{where}: binding is soap11 or soap12, for SOAP registries only")
    mutual_tls = r.get("mutual_tls", False)
    if not isinstance(mutual_tls, bool):
        raise ConfigError(f"{where}: mutual_tls must be true or false")
    if mutual_tls and not r.get("credentials"):
        raise ConfigError(f"{where}: mutual_tls needs a credentials name for its certificate")
    operations = r.get("operations", {})
    if not isinstance(operations, Mapping) or not all(
        isinstance(op, Mapping) for op in operations.values()
    ):
        raise ConfigError(f"{where}: operations must map names to mappings")
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
        operations=operations,
        auth=auth,
        binding=binding,
        mutual_tls=mutual_tls,
        labels=_optional_labels(r.get("labels"), where),
    )


def _identifiers(
    declared: Mapping[str, Any], regs: Mapping[str, RegistrySpec]
) -> dict[str, IdentifierSpec]:
    """The identifier kinds: AFM and AMKA, then those ``identifiers.yaml`` declares."""
    kinds: dict[str, IdentifierSpec] = dict(BUILTIN_IDENTIFIERS)
    for kind, entry in declared.items():
        where = f"identifier {kind}"
        data = _mapping(entry, where)
        unknown = set(data) - {"labels", "check", "pattern", "subject", "resolve", "description"}
        if unknown:
            raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        resolve = None
        if data.get("resolve") is not None:
            r = _mapping(data["resolve"], f"{where} resolve")
            registry = str(_need(r, "registry", f"{where} resolve"))
            if registry not in regs:
                raise ConfigError(f"{where}: resolve names unknown registry {registry}")
            fields = _need(r, "fields", f"{where} resolve")
            if not isinstance(fields, Mapping) or not fields:
                raise ConfigError(f"{where}: resolve fields map identifier kinds to answer paths")
            resolve = Resolution(
                registry=registry,
                operation=str(_need(r, "operation", f"{where} resolve")),
                fields={str(k): str(v) for k, v in fields.items()},
            )
        if str(kind) in BUILTIN_IDENTIFIERS and (data.get("check") or data.get("pattern")):
            raise ConfigError(f"{where}: AFM and AMKA keep their own checks")
        base = BUILTIN_IDENTIFIERS.get(str(kind))
        kinds[str(kind)] = IdentifierSpec.build(
            str(kind),
            _labels(_need(data, "labels", where), where)
            if "labels" in data or not base
            else base.labels,
            check=data.get("check") if base is None else base.check,
            pattern=data.get("pattern"),
            subject=str(data.get("subject", "person")),
            resolve=resolve,
        )
    for spec in kinds.values():
        for target in spec.resolve.fields if spec.resolve else {}:
            if target not in kinds:
                raise ConfigError(f"identifier {spec.kind}: resolve names unknown kind {target}")
    return kinds


def _evidence_type(
    tid: str,
    t: Mapping[str, Any],
    regs: Mapping[str, RegistrySpec],
    kinds: Mapping[str, IdentifierSpec] = BUILTIN_IDENTIFIERS,
) -> EvidenceType:
    where = f"evidence type {tid}"
    sources = tuple(
        Source(
            name=str(_need(s, "as", where)),
            registry=str(_need(s, "registry", where)),
            operation=str(_need(s, "operation", where)),
            identifier=_need(s, "identifier", where),
            optional=bool(s.get("optional", False)),
            as_of=None if s.get("as_of") is None else str(s["as_of"]),
        )
        for s in _need(t, "sources", where)
    )
    for source in sources:
        if source.registry not in regs:
            raise ConfigError(f"{where}: unknown registry {source.registry}")
        if source.identifier not in kinds:
            raise ConfigError(
                f"{where}: identifier must be one of {', '.join(sorted(kinds))} (identifiers.yaml)"
            )
    schema = _need(t, "schema", where)
    mapping = compile_rules(_need(t, "mapping", where), where)
    names = {source.name for source in sources}
    for name, rule in mapping.items():
        path = rule if isinstance(rule, str) else rule.get("from")
        if isinstance(path, str) and path.split(".")[0] not in names:
            raise ConfigError(
                f"{where} of {name}: {path} names no source (sources: {', '.join(sorted(names))})"
            )
    field_sources = {name: _rule_sources(rule, names) for name, rule in mapping.items()}
    # A schema that lists no properties (an open object) constrains no names.
    unmapped = set(mapping) - set(schema.get("properties", {})) if "properties" in schema else ()
    if unmapped:
        raise ConfigError(f"{where}: the schema has no fields {', '.join(sorted(unmapped))}")
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
        field_sources=field_sources,
    )


def _rule_sources(rule: Any, names: set[str]) -> tuple[str, ...]:
    """The sources a mapping rule reads: its path's first step, or those an expression names."""
    found: list[str] = []
    path = rule if isinstance(rule, str) else rule.get("from")
    if isinstance(path, str):
        found.append(path.split(".")[0])
    if isinstance(rule, Mapping) and "expr" in rule:
        source = getattr(rule["expr"], "source", "")
        found.extend(n for n in sorted(names) if re.search(rf"answers\.{re.escape(n)}\b", source))
    return tuple(dict.fromkeys(n for n in found if n in names))


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
    parameters = {
        name: _parameter(f"{where}: parameter {name}", name, rule)
        for name, rule in (p.get("parameters") or {}).items()
    }
    for rule in parameters.values():
        for agency in p.get("agencies", []):
            if rule.jurisdiction and rule.jurisdiction not in agencies[agency].jurisdiction:
                raise ConfigError(
                    f"{where}: parameter {rule.name} comes from the agency's "
                    f"{rule.jurisdiction}, and agency {agency} registers none"
                )
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
        parameters=parameters,
    )


def _certificate(cid: str, c: Any, types: Mapping[str, EvidenceType]) -> CertificateType:
    where = f"certificate {cid}"
    data = _mapping(c, where)
    unknown = set(data) - {"title", "evidence", "fields", "labels", "holder", "valid_for_days"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    evidence = str(_need(data, "evidence", where))
    kind = types.get(evidence)
    if kind is None:
        raise ConfigError(f"{where}: unknown evidence type {evidence}")
    fields = data.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ConfigError(f"{where}: fields is a list of field names")
    missing = set(fields) - set(kind.fields)
    if missing:
        raise ConfigError(f"{where}: {evidence} has no fields {', '.join(sorted(missing))}")
    holder = str(data.get("holder", "citizen"))
    if holder != "citizen":
        raise ConfigError(f"{where}: holder is citizen (the person the evidence is about)")
    days = data.get("valid_for_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        raise ConfigError(f"{where}: valid_for_days is a whole number of days")
    return CertificateType(
        id=cid,
        title=_labels(_need(data, "title", where), where),
        evidence_type=evidence,
        fields=tuple(fields),
        labels={k: _labels(v, f"{where} label {k}") for k, v in (data.get("labels") or {}).items()},
        holder=holder,
        valid_for_days=days,
    )


def _jurisdiction(aid: str, data: Any) -> dict[str, str]:
    if not isinstance(data, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ConfigError(f"agency {aid}: jurisdiction maps attributes to names")
    return dict(data)


def _parameter(where: str, name: str, rule: Any) -> ParameterRule:
    if not isinstance(rule, Mapping) or len(set(rule) & {"jurisdiction", "values"}) != 1:
        raise ConfigError(f"{where}: give exactly one of jurisdiction or values")
    if set(rule) - {"jurisdiction", "values", "description"}:
        raise ConfigError(f"{where}: only jurisdiction, values and description are known")
    if "jurisdiction" in rule:
        if not isinstance(rule["jurisdiction"], str) or not rule["jurisdiction"]:
            raise ConfigError(f"{where}: jurisdiction names an agency attribute")
        return ParameterRule(name=name, jurisdiction=rule["jurisdiction"])
    values = rule["values"]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: values is a non-empty list of strings")
    return ParameterRule(name=name, values=tuple(values))


class CatalogHolder:
    """The catalogue in force, replaced whole and at once by a reload.

    The services that read the catalogue (evidence, consent, certificates,
    tokens, pages) hold this object, not a :class:`Catalog`, and read
    through it on every use, so a reload reaches them all without a restart.
    :meth:`swap` replaces one reference: a request sees either the old
    catalogue or the new one, never a mixture, and a catalogue that failed
    to load never gets here, so the old one keeps serving.

    It answers the same questions as a :class:`Catalog` (see
    :data:`CatalogView`), each from the catalogue in force at the call.
    """

    __slots__ = ("_current",)

    def __init__(self, catalog: Catalog) -> None:
        self._current = catalog

    @property
    def current(self) -> Catalog:
        return self._current

    def swap(self, catalog: Catalog) -> Catalog:
        """Put ``catalog`` in force; the one it replaces is returned."""
        previous, self._current = self._current, catalog
        return previous

    @property
    def version(self) -> str:
        return self._current.version

    @property
    def registries(self) -> Mapping[str, RegistrySpec]:
        return self._current.registries

    @property
    def evidence_types(self) -> Mapping[str, EvidenceType]:
        return self._current.evidence_types

    @property
    def agencies(self) -> Mapping[str, Agency]:
        return self._current.agencies

    @property
    def purposes(self) -> Mapping[str, Purpose]:
        return self._current.purposes

    @property
    def vocabulary(self) -> Mapping[str, Mapping[str, Labels]]:
        return self._current.vocabulary

    @property
    def certificate_types(self) -> Mapping[str, CertificateType]:
        return self._current.certificate_types

    @property
    def identifiers(self) -> Mapping[str, IdentifierSpec]:
        return self._current.identifiers

    def purposes_of(self, agency_id: str) -> tuple[str, ...]:
        return self._current.purposes_of(agency_id)


#: What a service that reads the catalogue accepts: a fixed one, or the one in force.
CatalogView = Catalog | CatalogHolder


def in_force(view: CatalogView) -> Catalog:
    """The catalogue ``view`` stands for now: itself, or the holder's current one."""
    return view.current if isinstance(view, CatalogHolder) else view
