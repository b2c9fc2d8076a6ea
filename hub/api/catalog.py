"""The catalogue API: what an agency may ask, and what the hub can exchange at all.

``GET /v1/catalog`` answers an agency, from its token, with its own
purposes: for each, the evidence types and the fields it gets, the legal
basis or consent, and the parameters with where their values may come from
— what it used to learn by reading YAML. It is the agency's view, so it is
never cached. ``GET /v1/catalog/evidence-types`` is the public directory
(like the EU OOTS data-service directory or an X-Road service listing):
every evidence type with its titles, fields and source registries, cacheable
for a minute. Both name the catalogue's version, which every access-log
entry records too.
"""

from __future__ import annotations

from typing import Any

from hub.api._context import services
from hub.api._responses import JsonResult, json_body
from hub.api.evidence import agency_principal
from hub.domain.catalog import Catalog, CertificateType, EvidenceType, Labels, Purpose

__all__ = ["agency_catalog", "evidence_types"]

_PUBLIC = {"Cache-Control": "public, max-age=60"}
_PRIVATE = {"Cache-Control": "no-store"}


def _words(labels: Labels | None, fallback: str) -> dict[str, str]:
    el, en = labels or (fallback, fallback)
    return {"el": el, "en": en}


def _fields(kind: EvidenceType, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": name, "label": _words(kind.labels.get(name), name)} for name in names]


def _evidence_type(catalog: Catalog, kind: EvidenceType) -> dict[str, Any]:
    registries = dict.fromkeys(source.registry for source in kind.sources)
    return {
        "id": kind.id,
        "title": {"el": kind.title_el, "en": kind.title_en},
        "fields": _fields(kind, kind.fields),
        "registries": [
            {"id": rid, "name": catalog.registries[rid].name}
            for rid in registries
            if rid in catalog.registries
        ],
        "identifiers": sorted({source.identifier for source in kind.sources}),
    }


def _certificate(catalog: Catalog, certificate: CertificateType) -> dict[str, Any]:
    kind = catalog.evidence_types[certificate.evidence_type]
    fields = [
        {"name": name, "label": _words(certificate.labels.get(name) or kind.labels.get(name), name)}
        for name in (certificate.fields or kind.fields)
    ]
    return {
        "id": certificate.id,
        "title": _words(certificate.title, certificate.id),
        "evidence_type": certificate.evidence_type,
        "fields": fields,
        "holder": certificate.holder,
        "valid_for_days": certificate.valid_for_days,
    }


def _purpose(catalog: Catalog, purpose: Purpose) -> dict[str, Any]:
    evidence = []
    for type_id, fields in purpose.evidence.items():
        kind = catalog.evidence_types[type_id]
        evidence.append(
            {
                "evidence_type": type_id,
                "title": {"el": kind.title_el, "en": kind.title_en},
                "fields": _fields(kind, fields),
            }
        )
    parameters: dict[str, Any] = {}
    for name, rule in purpose.parameters.items():
        parameters[name] = (
            {"from_jurisdiction": rule.jurisdiction}
            if rule.jurisdiction is not None
            else {"values": list(rule.values)}
        )
    return {
        "id": purpose.id,
        "description": purpose.description,
        "label": _words(purpose.labels, purpose.description),
        "legal_basis": purpose.legal_basis,
        "legal_basis_label": (
            _words(purpose.legal_basis_labels, purpose.legal_basis or "")
            if purpose.legal_basis
            else None
        ),
        "consent_required": purpose.consent_required,
        "evidence": evidence,
        "parameters": parameters,
    }


def agency_catalog() -> JsonResult:
    principal = agency_principal()
    catalog = services().catalog.catalog
    purposes = [
        _purpose(catalog, purpose)
        for purpose in catalog.purposes.values()
        if purpose.allows_agency(principal.agency_id)
    ]
    body = {"agency": principal.agency_id, "version": catalog.version, "purposes": purposes}
    return json_body(body, headers=_PRIVATE)


def evidence_types() -> JsonResult:
    catalog = services().catalog.catalog
    body = {
        "version": catalog.version,
        "evidence_types": [
            _evidence_type(catalog, kind)
            for kind in sorted(catalog.evidence_types.values(), key=lambda k: k.id)
        ],
        "certificate_types": [
            _certificate(catalog, certificate) for certificate in catalog.certificate_types.values()
        ],
        "identifier_kinds": [
            {"kind": spec.kind, "label": _words(spec.labels, spec.kind), "subject": spec.subject}
            for spec in catalog.identifiers.values()
        ],
    }
    return json_body(body, headers=_PUBLIC)
