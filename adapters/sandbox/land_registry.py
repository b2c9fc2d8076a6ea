"""The sandbox land registry (cadastre): REST and JSON, errors as problem+json.

It stands in for the land registry so that property-ownership evidence has a
REST service to come from, next to the two SOAP ones. The contract is
``specs/registries/land-registry.yaml`` (OpenAPI 3.1). Routes:

* ``GET /v1/owners/{afm}/properties``: every right the owner holds, with the
  share, how and when it was acquired and the co-owners; a known citizen with
  no property gets an empty list;
* ``GET /v1/properties/{kaek}``: one property with all its owners;
* ``GET /health`` and ``GET /openapi.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.sandbox._asgi import Request, Response, SandboxApp, laughs_doctype, padded_stream
from adapters.sandbox.faults import Faults, HostileMode
from adapters.sandbox.population import (
    REFERENCE_DATE,
    Holding,
    Ownership,
    Population,
    Property,
)
from hub.domain.identity import is_valid_afm

__all__ = ["PROBLEM_BASE", "LandRegistry"]

PROBLEM_BASE = "urn:gr:sandbox:land:problem:"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
_XML = "application/xml"
_NESTING_DEPTH = 100_000

_XXE = (
    b'<?xml version="1.0"?><!DOCTYPE owner [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<owner><properties>&xxe;</properties></owner>"
)
_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE owner SYSTEM "http://127.0.0.1:9/land.dtd">'
    b"<owner><properties/></owner>"
)


_LAUGHS = b'<?xml version="1.0"?>' + laughs_doctype(b"owner") + b"<owner>&lol9;</owner>"


def _json(status: int, data: object, content_type: str = JSON) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, content_type, body)


def _problem(status: int, slug: str, title: str, detail: str) -> Response:
    code = slug.upper().replace("-", "_")
    return _json(
        status,
        {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
        },
        PROBLEM_JSON,
    )


def _share(ownership: Ownership) -> dict[str, Any]:
    return {
        "numerator": ownership.share_numerator,
        "denominator": ownership.share_denominator,
        "percent": ownership.share_percent,
    }


def _acquisition(ownership: Ownership) -> dict[str, Any]:
    return {
        "date": ownership.acquired.isoformat(),
        "title": ownership.title,
        "document_number": ownership.document_number,
    }


def _address(prop: Property) -> dict[str, Any]:
    return {
        "street": prop.address,
        "postal_code": prop.municipality.postal_code,
        "municipality": prop.municipality.name,
        "municipality_latin": prop.municipality.name_latin,
        "regional_unit": prop.municipality.regional_unit,
    }


class LandRegistry(SandboxApp):
    registry_id = "land"

    def __init__(
        self, population: Population, faults: Faults | None = None, *, spec_path: Path
    ) -> None:
        super().__init__(population, faults)
        self._spec = spec_path.read_bytes()

    def is_operation(self, request: Request) -> bool:
        return request.path.startswith("/v1/")

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.path == "/health":
            route = "health"
        elif request.path == "/openapi.yaml":
            route = "spec"
        elif len(parts) == 4 and parts[:2] == ["v1", "owners"] and parts[3] == "properties":
            route = "owner"
        elif len(parts) == 3 and parts[:2] == ["v1", "properties"]:
            route = "property"
        else:
            return _problem(404, "not-found", "Not found", "There is no such resource.")
        if request.method not in ("GET", "HEAD"):
            response = _problem(
                405, "method-not-allowed", "Method not allowed", "Only GET is supported."
            )
            response.headers.append((b"allow", b"GET"))
            return response
        if route == "health":
            return _json(200, {"status": "ok"})
        if route == "spec":
            return Response(200, "application/yaml", self._spec)
        if route == "owner":
            return self._owner(parts[2])
        return self._property(parts[2])

    def _owner(self, afm: str) -> Response:
        if not is_valid_afm(afm):
            return _problem(
                400,
                "invalid-input",
                "Invalid AFM",
                "The AFM must be 9 digits with a valid check digit.",
            )
        citizen = self.population.by_afm(afm)
        if citizen is None:
            return _problem(
                404, "not-found", "Owner not found", "No owner is registered under this AFM."
            )
        holdings = self.population.holdings(citizen)
        return _json(
            200,
            {
                "owner": {"afm": citizen.afm},
                "as_of": REFERENCE_DATE.isoformat(),
                "properties": [self._holding(h) for h in holdings],
            },
        )

    def _holding(self, holding: Holding) -> dict[str, Any]:
        prop, ownership = holding.asset, holding.ownership
        return {
            "kaek": prop.kaek,
            "use": prop.use,
            "area_m2": prop.area_m2,
            "address": _address(prop),
            "right": ownership.right,
            "share": _share(ownership),
            "acquisition": _acquisition(ownership),
            "co_owners": [
                {
                    "afm": self.population.citizen(other.owner).afm,
                    "right": other.right,
                    "share": _share(other),
                }
                for other in holding.co_owners
            ],
        }

    def _property(self, kaek: str) -> Response:
        if len(kaek) != 12 or not kaek.isascii() or not kaek.isdigit():
            return _problem(400, "invalid-input", "Invalid KAEK", "A KAEK is 12 digits.")
        prop = self.population.property_by_kaek(kaek)
        if prop is None:
            return _problem(404, "not-found", "Property not found", "No property has this KAEK.")
        return _json(
            200,
            {
                "kaek": prop.kaek,
                "use": prop.use,
                "area_m2": prop.area_m2,
                "address": _address(prop),
                "as_of": REFERENCE_DATE.isoformat(),
                "owners": [
                    {
                        "afm": self.population.citizen(o.owner).afm,
                        "right": o.right,
                        "share": _share(o),
                        "acquisition": _acquisition(o),
                    }
                    for o in prop.ownerships
                ],
            },
        )

    def server_error(self) -> Response:
        return _problem(500, "internal-error", "Internal error", "The registry failed to answer.")

    def too_large(self) -> Response:
        return _problem(413, "too-large", "Request too large", "The request body is too large.")

    def hostile(self, mode: HostileMode, normal: Response) -> Response:
        if mode == "xxe":
            return Response(200, _XML, _XXE)
        if mode == "billion_laughs":
            return Response(200, _XML, _LAUGHS)
        if mode == "dtd":
            return Response(200, _XML, _DTD)
        if mode == "wrong_namespace":
            # Valid JSON in a shape no client of v1 expects.
            data = json.loads(normal.body) if normal.body else None
            return _json(200, {"apiVersion": "v9", "data": data})
        if mode == "deep_nesting":
            return Response(200, JSON, b"[" * _NESTING_DEPTH + b"]" * _NESTING_DEPTH)
        return Response(
            200,
            JSON,
            stream=padded_stream(b'{"properties":[],"padding":"', b'"}', self.faults.huge_bytes),
        )
