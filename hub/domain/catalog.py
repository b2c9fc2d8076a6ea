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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.domain.mapping import check_rules, fold
from hub.errors import ConfigError, ParameterNotAllowed

__all__ = [
    "AUTH_KINDS",
    "Agency",
    "Catalog",
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
    #: How the hub proves who it is: ``kind`` (one of :data:`AUTH_KINDS`) and
    #: its options; the secrets themselves come from settings named after
    #: ``credentials``, never from the catalogue.
    auth: Mapping[str, Any] = field(default_factory=dict)
    #: SOAP only: ``soap11`` or ``soap12``; None: the WSDL's first port.
    binding: str | None = None
    #: Whether the registry demands a client certificate (mutual TLS).
    mutual_tls: bool = False


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
